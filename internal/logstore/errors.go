package logstore

import (
	"errors"
	"fmt"
)

// Errors to branch on with errors.Is.
var (
	// ErrNotFound means the sequence is below the first or above the last.
	ErrNotFound = errors.New("logstore: record not found")
	// ErrCorrupt means the record's bytes are damaged; see CorruptError.
	ErrCorrupt = errors.New("logstore: corrupt record")
	// ErrReadOnly means an earlier write or fsync failed and the log refuses
	// appends until it is reopened.
	ErrReadOnly = errors.New("logstore: log is read-only")
	// ErrClosed means the log was closed.
	ErrClosed = errors.New("logstore: log closed")
	// ErrTooLarge means the encoded record exceeds the record size cap.
	ErrTooLarge = errors.New("logstore: record too large")
)

// CorruptError names a damaged record. It wraps ErrCorrupt.
type CorruptError struct {
	Seq     uint64 // the sequence that cannot be read
	Segment string // segment file name, when known
	Offset  int64  // byte offset in the segment, or -1
	Reason  string
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("logstore: corrupt record seq %d", e.Seq)
	if e.Segment != "" {
		s += fmt.Sprintf(" (%s", e.Segment)
		if e.Offset >= 0 {
			s += fmt.Sprintf(" offset %d", e.Offset)
		}
		s += ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// readOnlyError wraps both ErrReadOnly and the failure that caused it.
func readOnlyError(cause error) error {
	return fmt.Errorf("%w: %w", ErrReadOnly, cause)
}
