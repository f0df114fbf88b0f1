package logs

import (
	"fmt"

	"github.com/ferrymq/ferry/internal/logstore"
)

// Ack acknowledges d. Under AckCumulative it acknowledges every delivery up
// to d's sequence; under AckNone it does nothing. Acking a record already
// done is not an error: delivery is at least once.
func (c *Consumer) Ack(d Delivery) error {
	if err := c.check(d); err != nil {
		return err
	}
	switch c.s.cfg.Ack {
	case AckNone:
		return nil
	case AckCumulative:
		return c.AckUpTo(d.Record.Seq)
	}
	s := c.s
	s.mu.Lock()
	_, ok := s.pending[d.Record.Seq]
	delete(s.pending, d.Record.Seq)
	if ok {
		s.wakeLocked() // room under MaxAckPending
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.save()
}

// AckUpTo acknowledges every delivered record up to seq (all ack modes but
// AckNone, where it does nothing).
func (c *Consumer) AckUpTo(seq uint64) error {
	if c.closed.Load() {
		return ErrClosed
	}
	s := c.s
	if s.cfg.Ack == AckNone {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if seq >= s.next {
		s.mu.Unlock()
		return fmt.Errorf("logs: ack up to %d: %w: only %d delivered", seq, ErrInvalid, s.next-1)
	}
	n := len(s.pending)
	for p := range s.pending {
		if p <= seq {
			delete(s.pending, p)
		}
	}
	changed := n != len(s.pending)
	if changed {
		s.wakeLocked() // room under MaxAckPending
	}
	s.mu.Unlock()
	if !changed {
		return nil
	}
	return s.save()
}

// Nak makes d due for redelivery now. A record already done is left alone.
func (c *Consumer) Nak(d Delivery) error {
	if err := c.check(d); err != nil {
		return err
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pending[d.Record.Seq]; ok {
		now := s.m.cfg.Clock.Now()
		p.due = now
		s.scheduleLocked(now)
		s.wakeLocked()
	}
	return nil
}

// check verifies that d came from this consumer and the handle is open.
func (c *Consumer) check(d Delivery) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if d.owner != c.s {
		return fmt.Errorf("logs: ack of seq %d: %w: delivery from another consumer", d.Record.Seq, ErrInvalid)
	}
	return nil
}

// AckSeq is Ack for the delivery of seq, for callers that hold only the
// sequence (a client across the wire).
func (c *Consumer) AckSeq(seq uint64) error {
	return c.Ack(Delivery{Record: logstore.Record{Seq: seq}, owner: c.s})
}

// NakSeq is Nak for the delivery of seq.
func (c *Consumer) NakSeq(seq uint64) error {
	return c.Nak(Delivery{Record: logstore.Record{Seq: seq}, owner: c.s})
}
