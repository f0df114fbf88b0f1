package server

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/metrics"
	"github.com/ferrymq/ferry/internal/wire"
)

// durable adapts the logs manager to broker.Durable and times appends.
type durable struct {
	m       *logs.Manager
	metrics *metrics.Set
}

var _ broker.Durable = durable{}

// Matches views subject as a string without copying: the manager's
// subject cache copies what it keeps.
func (d durable) Matches(subject []byte) bool {
	return d.m.Matches(unsafe.String(unsafe.SliceData(subject), len(subject)))
}

// Append stores the message in every log capturing its subject, deduping
// on its Ferry-Msg-Id header, and returns the first log's sequence. An
// error from any log fails the whole publish (the logs that stored it keep
// it; a retry with the same message ID is deduped there).
func (d durable) Append(ctx context.Context, subject, headers, payload []byte) (uint64, bool, error) {
	start := time.Now()
	res, err := d.m.Append(ctx, string(subject), headers, payload, msgID(headers))
	if err == nil && len(res) > 0 {
		d.metrics.Append(time.Since(start), len(payload))
	}
	if err != nil {
		return 0, false, err
	}
	if len(res) == 0 {
		return 0, false, nil // the log went away since Matches
	}
	return res[0].Seq, res[0].Dup, nil
}

// deliver is the logs manager's Deliver for push consumers: a plain
// publish from the server itself, on the pusher's goroutine (so records go
// out in order), returning how many subscriptions it reached, which lets a
// pusher hand back a record nobody received. The manager refuses to create
// a push consumer on a deliver subject a log captures, so deliveries are
// not stored (one created before that rule may be). Before New is
// done there is no broker and nobody to reach: it reports 0 receivers at
// once rather than wait (a pusher must never block on a server that may
// never finish starting), and the pusher tries again after its backoff.
func (s *Server) deliver(subject string, headers, payload []byte) (int, error) {
	select {
	case <-s.ready:
	default:
		return 0, nil
	}
	n, err := s.broker.Publish(nil, &broker.Message{Subject: []byte(subject), Headers: headers, Payload: payload}, broker.Target{})
	if errors.Is(err, broker.ErrPayloadTooLarge) || errors.Is(err, broker.ErrHeadersTooLarge) ||
		errors.Is(err, broker.ErrInvalidSubject) || errors.Is(err, broker.ErrInvalidHeaders) {
		err = fmt.Errorf("%w: %w", logs.ErrUndeliverable, err) // retrying cannot help
	}
	return n, err
}

// msgID returns the Ferry-Msg-Id header's value, or "" (headers were
// validated by the transport).
func msgID(headers []byte) string {
	if len(headers) == 0 {
		return ""
	}
	hs, err := wire.ParseHeaders(headers)
	if err != nil {
		return ""
	}
	for _, h := range hs {
		if h.Key == wire.MsgIDHeader {
			return h.Value
		}
	}
	return ""
}
