package logstore

import (
	"context"
	"time"
)

// Record is one entry of a log.
type Record struct {
	Seq     uint64    // assigned by Append; ignored on input
	Time    time.Time // stamped by Append from the clock when zero
	Subject string
	Headers []byte // an encoded header block, stored as given
	Payload []byte
	MsgID   string // optional; deduplicates appends within Config.DedupeWindow
}

// Range is an inclusive range of sequence numbers.
type Range struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// Contains reports whether seq lies in r.
func (r Range) Contains(seq uint64) bool { return seq >= r.First && seq <= r.Last }

// State describes a log at one moment.
type State struct {
	FirstSeq  uint64 // LastSeq+1 when the log is empty
	LastSeq   uint64 // 0 before the first append
	FirstTime time.Time
	LastTime  time.Time
	Msgs      uint64 // readable records between FirstSeq and LastSeq
	Bytes     int64  // stored bytes: the sum of the records' Size
	Segments  int    // segment files; 0 for memory
	ReadOnly  error  // non-nil once appends are refused; wraps ErrReadOnly
	Damaged   []Range
}

// Storage is a durable, append-only, replayable log. Both FileLog and
// MemoryLog implement it and pass storetest.Run.
type Storage interface {
	// Append stores r and returns its sequence once r is as durable as the
	// sync policy promises. With r.MsgID set, a repeat within the dedupe
	// window stores nothing and returns the original sequence and dup=true.
	// If ctx ends first Append returns ctx.Err(), and the record may still
	// be stored: retry with the same MsgID.
	Append(ctx context.Context, r Record) (seq uint64, dup bool, err error)
	// Read returns the record seq: ErrNotFound outside [FirstSeq, LastSeq],
	// a *CorruptError (ErrCorrupt) for a damaged one.
	Read(seq uint64) (Record, error)
	// ReadBatch returns consecutive records from max(from, FirstSeq): at
	// most maxMsgs records and at most maxBytes of Size (no limit when <= 0),
	// but always at least one if any exists. It stops before a damaged record; if the first one is damaged
	// it returns that record's *CorruptError. Beyond LastSeq it returns none.
	ReadBatch(from uint64, maxMsgs, maxBytes int) ([]Record, error)
	// SeqForTime returns the first sequence whose Time is not before t, or
	// LastSeq+1 when there is none.
	SeqForTime(t time.Time) (uint64, error)
	// State describes the log.
	State() State
	// ApplyRetention removes what the retention limits allow. Append also
	// applies it when that is cheap.
	ApplyRetention() error
	// Close releases the log; later calls fail with ErrClosed. Closing twice
	// is allowed.
	Close() error
}

var (
	_ Storage = (*FileLog)(nil)
	_ Storage = (*MemoryLog)(nil)
)
