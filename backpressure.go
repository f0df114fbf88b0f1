package ferry

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrymq/ferry/internal/wire"
)

// Backpressure says what the server does with a subscription's messages
// when they pile up because this connection does not read them fast
// enough. The values are the wire protocol's SUB backpressure byte.
//
// Note that the Go client reads its socket continuously into each
// subscription's own pending queue (WithSubPending) and drops there, on
// the client, when that queue is full; the server-side policies engage
// when the connection itself falls behind (a slow network, or a client
// reading slowly for another reason).
type Backpressure uint8

// Backpressure policies.
const (
	// BackpressureDisconnect cuts the whole connection as a slow consumer
	// once the server's buffer for it is full (the default).
	BackpressureDisconnect Backpressure = 0
	// BackpressureBlock makes publishers wait for room, up to the server's
	// write timeout, past which the subscriber is cut.
	BackpressureBlock Backpressure = 1
	// BackpressureDropNewest drops incoming messages while limit wait.
	BackpressureDropNewest Backpressure = 2
	// BackpressureDropOldest drops the oldest waiting message for each new
	// one past the limit: the subscriber sees the newest.
	BackpressureDropOldest Backpressure = 3
	// BackpressureLatestPerKey keeps one waiting message per key (header
	// Ferry-Key, else the subject), replacing it in place, then drops the
	// oldest: the subscriber sees the latest value of every key.
	BackpressureLatestPerKey Backpressure = 4
)

var backpressureNames = [...]string{"disconnect", "block", "drop-newest", "drop-oldest", "latest-per-key"}

func (p Backpressure) String() string {
	if int(p) < len(backpressureNames) {
		return backpressureNames[p]
	}
	return fmt.Sprintf("backpressure(%d)", uint8(p))
}

func (p Backpressure) valid() bool { return int(p) < len(backpressureNames) }

// ParseBackpressure parses a policy name: disconnect, block, drop-newest,
// drop-oldest or latest-per-key.
func ParseBackpressure(name string) (Backpressure, error) {
	for i, n := range backpressureNames {
		if name == n {
			return Backpressure(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown backpressure policy %q (want one of %s)",
		ErrBadSubscription, name, strings.Join(backpressureNames[:], ", "))
}

// WithBackpressure asks the server to apply policy p to this subscription
// when more than limit of its messages wait in the server (limit 0: the
// server's default, 1024; the server caps it). limit is ignored for
// BackpressureDisconnect.
//
// When the server drops messages under a drop policy, it adds the header
// Ferry-Dropped (its cumulative count for the subscription) to the next
// message it delivers. The client removes that header from the message,
// adds the count to Subscription.Dropped, and reports each new count to
// the error handler as an error matching ErrSlowConsumer. Server counts
// restart with each connection; Dropped keeps the total across reconnects.
func WithBackpressure(p Backpressure, limit int) SubOption {
	return func(o *subOptions) { o.backpressure, o.limit = p, limit }
}

// serverDrops takes the server's Ferry-Dropped header out of h (the last
// one: the server appends it after the publisher's headers) and records
// its count. It runs on the read loop.
func (s *Subscription) serverDrops(h Header) Header {
	i := -1
	for j := len(h) - 1; j >= 0; j-- {
		if h[j].Key == wire.DroppedHeader {
			i = j
			break
		}
	}
	if i < 0 {
		return h
	}
	v := h[i].Value
	h = slices.Delete(h, i, i+1)
	if len(h) == 0 {
		h = nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return h
	}
	if old := s.serverDropped.Swap(n); old != n {
		s.conn.reportErr(fmt.Errorf("%w: subscription %q: the server dropped %d messages (policy %v)",
			ErrSlowConsumer, s.pattern, s.serverBase.Load()+n, s.backpressure))
	}
	return h
}

// newConnection folds the server's drop count into the base before the
// subscription is restored on a new connection, whose counts start at 0.
func (s *Subscription) newConnection() {
	s.serverBase.Add(s.serverDropped.Swap(0))
}

// lossy reports whether p drops messages: drop-newest, drop-oldest or
// latest-per-key.
func (p Backpressure) lossy() bool {
	return p == BackpressureDropNewest || p == BackpressureDropOldest || p == BackpressureLatestPerKey
}

// WithStreamBackpressure makes a stream receiver (HandleStreams,
// ListenStreams) lossy: instead of pacing the sender with its credit, it
// asks the server to apply policy p (BackpressureDropNewest,
// BackpressureDropOldest or BackpressureLatestPerKey) to each stream it
// accepts when more than limit of the stream's messages wait in the server
// for this connection (limit 0: the server's default, 1024). The sender is
// then never slowed down by this receiver. Latest-per-key keys a message
// by its Ferry-Key header, else "" (so without keys only the latest
// message is kept). The client, too, keeps at most the window's messages
// (WithWindow) waiting for Recv and applies p past that.
// IncomingStream.Dropped counts what was lost; Recv's messages keep
// increasing Seq numbers, with gaps where messages were dropped.
//
// BackpressureDisconnect keeps the default (paced by credit); Block is an
// error, since a stream receiver already paces its sender. It does not
// apply to channels (Listen).
func WithStreamBackpressure(p Backpressure, limit int) StreamOption {
	return func(o *streamOptions) { o.backpressure, o.bpLimit = p, limit }
}

// checkBackpressure validates a listener's WithStreamBackpressure.
func (o *streamOptions) checkBackpressure(channels bool) error {
	switch {
	case o.backpressure == BackpressureDisconnect:
		return nil
	case !o.backpressure.valid():
		return fmt.Errorf("%w: unknown backpressure policy %d", ErrBadSubscription, uint8(o.backpressure))
	case !o.backpressure.lossy():
		return fmt.Errorf("%w: stream backpressure %v: a stream receiver already paces its sender by credit; use drop-newest, drop-oldest or latest-per-key", ErrBadSubscription, o.backpressure)
	case channels:
		return fmt.Errorf("%w: a channel cannot drop: stream backpressure is for HandleStreams and ListenStreams", ErrBadSubscription)
	case o.bpLimit < 0:
		return fmt.Errorf("%w: negative backpressure limit %d", ErrBadSubscription, o.bpLimit)
	}
	return nil
}
