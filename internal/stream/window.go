package stream

import (
	"errors"
	"fmt"
)

// Default windows, used when a receiver grants none of its own.
const (
	DefaultWindowMsgs  = 256
	DefaultWindowBytes = 1 << 20
)

// ErrWindowExceeded reports a sender that sent more than it was granted.
var ErrWindowExceeded = errors.New("stream: window exceeded")

// Credit is an amount of messages and payload bytes.
type Credit struct {
	Msgs  uint64 `json:"msgs"`
	Bytes uint64 `json:"bytes"`
}

// IsZero reports whether c grants nothing.
func (c Credit) IsZero() bool { return c.Msgs == 0 && c.Bytes == 0 }

// Window is one direction of flow control: what a receiver has granted in
// all and what the sender has used.
type Window struct {
	Granted Credit
	Used    Credit
}

// Grant adds credit from the receiver.
func (w *Window) Grant(c Credit) {
	w.Granted.Msgs += c.Msgs
	w.Granted.Bytes += c.Bytes
}

// Room is what the sender may still send.
func (w *Window) Room() Credit {
	return Credit{w.Granted.Msgs - w.Used.Msgs, w.Granted.Bytes - w.Used.Bytes}
}

// Take records one message of size payload bytes, or fails with
// ErrWindowExceeded when it does not fit.
func (w *Window) Take(size int) error {
	r := w.Room()
	if r.Msgs < 1 || r.Bytes < uint64(size) {
		return fmt.Errorf("%w: %d-byte message with room for %d messages and %d bytes", ErrWindowExceeded, size, r.Msgs, r.Bytes)
	}
	w.Used.Msgs++
	w.Used.Bytes += uint64(size)
	return nil
}

// Fits reports whether one message of size bytes fits.
func (w *Window) Fits(size int) bool {
	r := w.Room()
	return r.Msgs >= 1 && r.Bytes >= uint64(size)
}
