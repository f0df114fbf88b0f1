package ferry

import (
	"errors"
	"fmt"

	"github.com/ferrymq/ferry/internal/wire"
)

// Errors returned by the client; test for them with errors.Is.
var (
	ErrClosed          = errors.New("ferry: connection closed")
	ErrNoResponders    = errors.New("ferry: no responders")
	ErrTimeout         = errors.New("ferry: timeout")
	ErrInvalidSubject  = errors.New("ferry: invalid subject")
	ErrPayloadTooLarge = errors.New("ferry: payload too large")
	ErrHeadersTooLarge = errors.New("ferry: headers too large")
	ErrIDInUse         = errors.New("ferry: endpoint ID in use")
	ErrInvalidID       = errors.New("ferry: invalid endpoint ID")
	ErrSlowConsumer    = errors.New("ferry: slow consumer")
	ErrTooManySubs     = errors.New("ferry: too many subscriptions")
	ErrInvalidTarget   = errors.New("ferry: invalid target")
	ErrNotSupported    = errors.New("ferry: not supported by server")
	ErrDisconnected    = errors.New("ferry: disconnected")
	ErrProtocol        = errors.New("ferry: protocol error")
	ErrBadURL          = errors.New("ferry: bad server URL")
	ErrNoReplyAddress  = errors.New("ferry: message has no reply address")
	ErrBadSubscription = errors.New("ferry: invalid subscription")
	ErrNotMember       = errors.New("ferry: not a group member")
	ErrInvalidMeta     = errors.New("ferry: invalid endpoint metadata")

	// Streams and channels (see OpenStream, Dial).

	// ErrStreamAborted: a party aborted the stream or channel (close code
	// 1), with a reason the error text carries; also the error of our own
	// Stream.Abort.
	ErrStreamAborted = errors.New("ferry: stream aborted")
	// ErrPeerGone: the other side's connection closed (close code 2), or
	// every receiver of a one-way stream left (code 4, which matches
	// ErrNoResponders too).
	ErrPeerGone = errors.New("ferry: stream peer gone")
	// ErrSlowReceiver: this receiver was cut from a cut-slow stream for
	// stalling it (close code 3).
	ErrSlowReceiver = errors.New("ferry: cut from the stream as a slow receiver")
	// ErrStreamClosed: a call on a stream, channel or listener this side
	// already closed (or, for Send, half-closed).
	ErrStreamClosed = errors.New("ferry: stream closed")
	// ErrWindowExceeded: the sender overran the granted window and the
	// broker aborted the stream (close code 5). The Go client never does.
	ErrWindowExceeded = errors.New("ferry: stream window exceeded")

	// Durable logs (see CreateLog, PublishDurable, Fetch).

	// ErrLogNotFound: the log or consumer named does not exist (code 112).
	ErrLogNotFound = errors.New("ferry: log not found")
	// ErrLogExists: the log exists already, or the durable consumer exists
	// with another configuration (code 113).
	ErrLogExists = errors.New("ferry: log exists")
	// ErrLogInvalid: a bad log or consumer definition or argument (code 114).
	ErrLogInvalid = errors.New("ferry: invalid log request")
	// ErrLogNotWritable: the log cannot store the message: read-only after
	// a write failure, closed, or full (code 115).
	ErrLogNotWritable = errors.New("ferry: log not writable")
	// ErrNotStored: PublishDurable's subject is captured by no log; the
	// message was still delivered live to any subscribers.
	ErrNotStored = errors.New("ferry: no log captures the subject")
)

// ServerError is an error the broker reported in an ERR frame. It matches
// the sentinel for its code with errors.Is (for example ErrInvalidSubject).
type ServerError struct {
	Code    uint16 // wire error code, see docs/protocol.md
	Message string // the server's human-readable message
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("ferry: server: %s (code %d)", e.Message, e.Code)
}

// Is reports whether target is the sentinel for e's code.
func (e *ServerError) Is(target error) bool {
	s, ok := codeErrors[wire.Code(e.Code)]
	return ok && s == target
}

var codeErrors = map[wire.Code]error{
	wire.CodeInvalidSubject:  ErrInvalidSubject,
	wire.CodePayloadTooLarge: ErrPayloadTooLarge,
	wire.CodeHeadersTooLarge: ErrHeadersTooLarge,
	wire.CodeIDInUse:         ErrIDInUse,
	wire.CodeInvalidID:       ErrInvalidID,
	wire.CodeSlowConsumer:    ErrSlowConsumer,
	wire.CodeTooManySubs:     ErrTooManySubs,
	wire.CodeNoResponders:    ErrNoResponders,
	wire.CodeInvalidTarget:   ErrInvalidTarget,
	wire.CodeNotSupported:    ErrNotSupported,
	wire.CodeProtocol:        ErrProtocol,
	wire.CodeNotMember:       ErrNotMember,
	wire.CodeInvalidMeta:     ErrInvalidMeta,
	wire.CodeLogNotFound:     ErrLogNotFound,
	wire.CodeLogExists:       ErrLogExists,
	wire.CodeLogInvalid:      ErrLogInvalid,
	wire.CodeLogReadOnly:     ErrLogNotWritable,
}
