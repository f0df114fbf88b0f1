package broker

import (
	"sync"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/stream"
)

// StreamKind says what a StreamFrame carries.
type StreamKind uint8

// Stream frame kinds, as on the wire.
const (
	StreamOpenKind StreamKind = iota + 1
	StreamDataKind
	StreamCreditKind
	StreamCloseKind
)

// Stream flags, as on the wire.
const (
	StreamBidi    uint8 = 1 // a channel: both sides send; exactly one acceptor
	StreamCutSlow uint8 = 2 // cut a receiver that stalls the stream for StallTimeout
)

// Stream close codes, as on the wire.
const (
	CloseEnd          uint64 = 0
	CloseAborted      uint64 = 1
	ClosePeerGone     uint64 = 2
	CloseSlow         uint64 = 3
	CloseNoReceivers  uint64 = 4
	CloseWindowExceed uint64 = 5
)

// StreamFrame is a stream event for one endpoint. Byte fields are valid
// only during the Sink call.
type StreamFrame struct {
	Kind    StreamKind
	Stream  uint64 // the receiving endpoint's ID for the stream
	Flags   uint8
	Subject []byte
	From    []byte
	Headers []byte
	Payload []byte
	Seq     uint64
	Credit  stream.Credit // for credit frames; for open frames, the opener's window (channels)
	Code    uint64
	Reason  string

	// For open frames: the acceptor's stream-scope subscription chose a
	// drop policy (LossyPolicy) with this limit, so the broker does not
	// pace the opener by it and the transport applies the policy to the
	// stream's data instead. Zero for a paced receiver.
	Backpressure uint8
	Limit        uint64
}

// LossyPolicy reports whether a subscription's backpressure policy makes
// a stream acceptor lossy: drop-newest (2), drop-oldest (3) or
// latest-per-key (4).
func LossyPolicy(bp uint8) bool { return bp >= 2 && bp <= 4 }

// UnpacedWindow is the credit an opener gets, once, when its stream has no
// paced receiver left (every acceptor is lossy): it may send freely, and
// each lossy receiver's transport drops what it cannot deliver.
var UnpacedWindow = stream.Credit{Msgs: 1 << 40, Bytes: 1 << 40}

// StreamSpec describes a stream an endpoint opens.
type StreamSpec struct {
	ID      uint64 // chosen by the opener; odd numbers (the broker's are even)
	Flags   uint8
	Subject []byte
	Target  Target
	Headers []byte
	Window  stream.Credit // the opener's receive window, for channels
}

// relay joins an opener to its acceptors ("legs").
type relay struct {
	mu                       sync.Mutex // guards every field below
	b                        *Broker
	opener                   *Endpoint
	openID                   uint64 // the opener's stream ID
	flags                    uint8
	legs                     map[uint64]*leg // by leg key (the acceptor-side stream ID is unique per endpoint, so key = pointer order)
	fan                      *stream.Fanout  // opener → acceptors pacing
	back                     stream.Window   // acceptor → opener, channels only
	openerDone, acceptorDone bool            // half-closes of a channel
	closed                   bool
	stall                    clock.Timer // armed while a laggard holds a cut-slow stream back
	stallOn                  uint64      // the leg the stall timer is for
	unpaced                  bool        // the opener was given UnpacedWindow (no paced leg)
	info                     relayInfo   // for the dashboard (Streams)
}

// leg is one acceptor of a stream.
type leg struct {
	key uint64
	ep  *Endpoint
	id  uint64 // the acceptor's stream ID
	// lossy legs chose a drop policy: they are not in the fanout, so
	// they never pace the opener, and their credit grants are ignored.
	lossy bool
}

// streamSide is one endpoint's view of a stream: which relay, and as which
// party.
type streamSide struct {
	r   *relay
	leg *leg // nil for the opener
}

// DefaultStallTimeout is how long a cut-slow stream waits for a stalled
// receiver before cutting it.
const DefaultStallTimeout = 2 * time.Second
