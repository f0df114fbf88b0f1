package logs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

// Delivery is one record handed to a consumer.
type Delivery struct {
	Record     logstore.Record
	Deliveries int // 1 on the first delivery
	owner      *consumerState
}

// Seq is the record's sequence.
func (d Delivery) Seq() uint64 { return d.Record.Seq }

// maxSkips bounds how many damaged records one Fetch steps over.
const maxSkips = 64

// Fetch returns up to max records: redeliveries that are due first, then
// new records in sequence order, no more new ones than MaxAckPending leaves
// room for. With nothing to deliver it waits up to wait (on the manager's
// clock) for an append, an acknowledgement or a redelivery; wait <= 0
// returns at once. It returns ErrClosed once the consumer, its log or the
// manager is closed, and ErrInvalid on a push consumer (the manager sends
// its records).
func (c *Consumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error) {
	if max <= 0 {
		return nil, fmt.Errorf("logs: fetch %d: %w: max must be positive", max, ErrInvalid)
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	s := c.s
	if s.cfg.Push() {
		return nil, fmt.Errorf("logs: fetch from consumer %q: %w: a push consumer delivers to %q", s.name, ErrInvalid, s.cfg.DeliverSubject)
	}
	var timeout chan struct{}
	for {
		logCh, consCh := s.log.wait(), s.wait()
		ds, err := s.collect(max)
		if err != nil || len(ds) > 0 || wait <= 0 {
			return ds, err
		}
		if timeout == nil {
			timeout = make(chan struct{})
			t := s.m.cfg.Clock.AfterFunc(wait, func() { close(timeout) })
			defer t.Stop()
		}
		select {
		case <-logCh:
		case <-consCh:
		case <-timeout:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// collect claims up to max deliveries, dead-letters what is out of
// deliveries, and saves the new position.
func (s *consumerState) collect(max int) ([]Delivery, error) {
	s.collects.Add(1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	now := s.m.cfg.Clock.Now()
	out, dead, err := s.redeliverLocked(now, max, nil)
	if room := s.roomLocked(); err == nil && len(out) < max && room > 0 {
		out, err = s.readNewLocked(now, len(out)+min(max-len(out), room), out)
	}
	changed := len(out) > 0 || len(dead) > 0
	if changed {
		s.scheduleLocked(now)
	}
	s.mu.Unlock()
	s.deadLetter(dead)
	if changed {
		if serr := s.save(); serr != nil {
			s.m.cfg.Logger.Warn("logs: save consumer", "log", s.log.cfg.Name, "consumer", s.name, "err", serr)
		}
	}
	if err != nil && len(out) > 0 {
		return out, nil // deliver what we have; the error comes back next time
	}
	return out, err
}

// roomLocked is how many new records may go out before MaxAckPending
// deliveries await acknowledgement.
func (s *consumerState) roomLocked() int {
	if s.cfg.Ack == AckNone {
		return math.MaxInt
	}
	return s.cfg.MaxAckPending - len(s.pending)
}

// redeliverLocked delivers due pending records, lowest sequence first, and
// collects those out of deliveries for the dead-letter subject.
func (s *consumerState) redeliverLocked(now time.Time, max int, out []Delivery) ([]Delivery, []deadRecord, error) {
	var due []uint64
	for seq, p := range s.pending {
		if !p.due.After(now) {
			due = append(due, seq)
		}
	}
	slices.Sort(due)
	var dead []deadRecord
	for _, seq := range due {
		if len(out) == max {
			break
		}
		p := s.pending[seq]
		rec, err := s.log.store.Read(seq)
		if err != nil {
			if errors.Is(err, logstore.ErrNotFound) || errors.Is(err, logstore.ErrCorrupt) {
				delete(s.pending, seq) // gone to retention or damage: nothing to redeliver
				continue
			}
			return out, dead, fmt.Errorf("logs: consumer %q: read %d: %w", s.name, seq, err)
		}
		if s.cfg.MaxDeliveries > 0 && p.deliveries >= s.cfg.MaxDeliveries {
			delete(s.pending, seq)
			dead = append(dead, deadRecord{rec: rec, deliveries: p.deliveries})
			continue
		}
		p.deliveries++
		p.due = now.Add(s.cfg.AckWait)
		out = append(out, Delivery{Record: rec, Deliveries: p.deliveries, owner: s})
	}
	return out, dead, nil
}

// readNewLocked appends new records from s.next, stepping over damaged ones.
func (s *consumerState) readNewLocked(now time.Time, max int, out []Delivery) ([]Delivery, error) {
	for range maxSkips {
		recs, err := s.log.store.ReadBatch(s.next, max-len(out), 0)
		if ce, ok := errors.AsType[*logstore.CorruptError](err); ok && ce.Seq >= s.next {
			s.m.cfg.Logger.Warn("logs: consumer skips a damaged record", "log", s.log.cfg.Name, "consumer", s.name, "seq", ce.Seq, "err", err)
			s.next = ce.Seq + 1
			continue
		}
		if err != nil {
			return out, fmt.Errorf("logs: consumer %q: read from %d: %w", s.name, s.next, err)
		}
		for _, r := range recs {
			s.next = r.Seq + 1
			if s.cfg.Ack != AckNone {
				s.pending[r.Seq] = &pending{deliveries: 1, due: now.Add(s.cfg.AckWait)}
			}
			out = append(out, Delivery{Record: r, Deliveries: 1, owner: s})
		}
		return out, nil
	}
	return out, nil
}
