package logs

import (
	"errors"
	"strconv"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// Push delivery headers, added to a record's own headers (which lose any
// field of these names). Ferry-Log, Ferry-Seq, Ferry-Deliveries and
// Ferry-Subject are shared with dead letters.
const (
	HeaderConsumer = "Ferry-Consumer"
	HeaderTime     = "Ferry-Time" // when the record was stored, RFC 3339 with nanoseconds
)

// Push pacing.
const (
	// pushBatch is how many records a pusher claims at a time.
	pushBatch = 64
	// minPushBackoff and maxPushBackoff bound the wait before a pusher
	// tries again after a record reached nobody or delivery failed.
	minPushBackoff = 10 * time.Millisecond
	maxPushBackoff = time.Second
)

// SetDeliver sets the function push consumers deliver through (see
// Config.Deliver); nil returns to the fallback. Pushers waiting after a
// failed delivery pick it up on their next try.
func (m *Manager) SetDeliver(fn DeliverFunc) {
	if fn == nil {
		m.deliver.Store(nil)
		return
	}
	m.deliver.Store(&fn)
}

// startPusher starts the goroutine of a push consumer; it returns when the
// consumer closes.
func (m *Manager) startPusher(s *consumerState) {
	if !s.cfg.Push() {
		return
	}
	s.pushDone = make(chan struct{})
	go s.push()
}

// waitPusher waits for a closed consumer's pusher to return.
func (s *consumerState) waitPusher() {
	if s.pushDone != nil {
		<-s.pushDone
	}
}

// push runs a push consumer: it claims records as Fetch does (so
// MaxAckPending, ack wait, redelivery and dead letters work the same) and
// sends them to the deliver subject in order. With nothing to send it
// sleeps until an append (only while under MaxAckPending: at the cap an
// append changes nothing), an ack, a redelivery falling due or close. A
// record that reached no subscriber is handed back (not counted as a
// delivery, due again at once); a record the broker refused (Deliver
// returned an error) counts as a delivery and is dead-lettered once out of
// deliveries (at once if it can never be delivered: ErrUndeliverable).
// Otherwise the pusher backs off, from minPushBackoff
// doubling to maxPushBackoff: the broker has no interest notification, so
// a consumer nobody listens to polls about once a second and spends no CPU
// otherwise.
func (s *consumerState) push() {
	defer close(s.pushDone)
	var backoff time.Duration
	for {
		logCh, consCh := s.log.wait(), s.wait()
		ds, err := s.collect(pushBatch)
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			s.m.cfg.Logger.Warn("logs: push consumer read", "log", s.log.cfg.Name, "consumer", s.name, "err", err)
		}
		if err == nil && len(ds) == 0 {
			if !s.hasRoom() {
				logCh = nil // at the cap: only an ack, a redelivery or close matters
			}
			select {
			case <-logCh:
			case <-consCh:
			case <-s.stop:
				return
			}
			continue
		}
		sent, derr := s.send(ds)
		if err == nil && sent == len(ds) {
			backoff = 0
			continue
		}
		rest := ds[sent:]
		if derr != nil {
			s.refused(rest[0], derr)
			rest = rest[1:]
		}
		s.handBack(rest)
		if errors.Is(derr, ErrUndeliverable) {
			backoff = 0 // dead-lettered: nothing to wait for before the rest
			continue
		}
		backoff = min(max(2*backoff, minPushBackoff), maxPushBackoff)
		if !s.sleep(backoff) {
			return
		}
	}
}

// hasRoom reports whether a new record may go out under MaxAckPending.
func (s *consumerState) hasRoom() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roomLocked() > 0
}

// send delivers ds in order and returns how many reached someone; it stops
// at the first that reached nobody or failed, returning Deliver's error.
func (s *consumerState) send(ds []Delivery) (int, error) {
	fn := s.m.deliver.Load()
	for i, d := range ds {
		hdr := s.pushHeaders(d)
		switch {
		case fn != nil:
			n, err := (*fn)(s.cfg.DeliverSubject, hdr, d.Record.Payload)
			if err != nil {
				s.m.cfg.Logger.Warn("logs: push delivery failed", "log", s.log.cfg.Name, "consumer", s.name, "seq", d.Record.Seq, "err", err)
				return i, err
			}
			if n == 0 {
				return i, nil
			}
		case s.m.cfg.Publish != nil:
			s.m.cfg.Publish(s.cfg.DeliverSubject, hdr, d.Record.Payload)
		default:
			s.m.cfg.Logger.Warn("logs: push delivery dropped: no Deliver or Publish", "log", s.log.cfg.Name, "consumer", s.name)
			return i, nil
		}
	}
	return len(ds), nil
}

// refused handles a delivery the broker refused: it counted, so a pending
// record out of deliveries (and any record under AckNone, which has one
// delivery, or one the broker can never take: ErrUndeliverable) is
// dead-lettered with the error as the reason; any other is due again at
// once.
func (s *consumerState) refused(d Delivery, cause error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	never := errors.Is(cause, ErrUndeliverable)
	dead := s.cfg.Ack == AckNone || never
	if p, ok := s.pending[d.Record.Seq]; ok && p.deliveries == d.Deliveries {
		if never || s.cfg.MaxDeliveries > 0 && p.deliveries >= s.cfg.MaxDeliveries {
			delete(s.pending, d.Record.Seq)
			dead = true
		} else {
			p.due = s.m.cfg.Clock.Now()
		}
	}
	s.mu.Unlock()
	if !dead {
		return
	}
	s.deadLetter([]deadRecord{{rec: d.Record, deliveries: d.Deliveries, reason: ReasonDeliverFailed + ": " + cause.Error()}})
	if err := s.save(); err != nil {
		s.m.cfg.Logger.Warn("logs: save consumer", "log", s.log.cfg.Name, "consumer", s.name, "err", err)
	}
}

// handBack returns claimed deliveries that reached nobody: a pending one
// loses the delivery it was counted and is due again at once; under
// AckNone the position goes back to the first of them.
func (s *consumerState) handBack(ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	now := s.m.cfg.Clock.Now()
	for _, d := range ds {
		if p, ok := s.pending[d.Record.Seq]; ok && p.deliveries == d.Deliveries {
			p.deliveries--
			p.due = now
		}
	}
	if s.cfg.Ack == AckNone && s.next == ds[len(ds)-1].Record.Seq+1 {
		s.next = ds[0].Record.Seq
	}
	s.mu.Unlock()
	if err := s.save(); err != nil {
		s.m.cfg.Logger.Warn("logs: save consumer", "log", s.log.cfg.Name, "consumer", s.name, "err", err)
	}
}

// sleep waits d on the manager's clock; false when the consumer closed.
func (s *consumerState) sleep(d time.Duration) bool {
	wake := make(chan struct{})
	t := s.m.cfg.Clock.AfterFunc(d, func() { close(wake) })
	defer t.Stop()
	select {
	case <-wake:
		return true
	case <-s.stop:
		return false
	}
}

// pushHeaders is the record's header block without any field the push
// headers name, followed by the push headers.
func (s *consumerState) pushHeaders(d Delivery) []byte {
	hs, err := wire.ParseHeaders(d.Record.Headers)
	if err != nil {
		hs = nil // stored headers are opaque to the log; drop a bad block
	}
	kept := hs[:0]
	for _, h := range hs {
		switch h.Key {
		case HeaderLog, HeaderSeq, HeaderConsumer, HeaderDeliveries, HeaderSubject, HeaderTime:
		default:
			kept = append(kept, h)
		}
	}
	kept = append(kept,
		wire.HeaderField{Key: HeaderLog, Value: s.log.cfg.Name},
		wire.HeaderField{Key: HeaderSeq, Value: strconv.FormatUint(d.Record.Seq, 10)},
		wire.HeaderField{Key: HeaderConsumer, Value: s.name},
		wire.HeaderField{Key: HeaderDeliveries, Value: strconv.Itoa(d.Deliveries)},
		wire.HeaderField{Key: HeaderSubject, Value: d.Record.Subject},
		wire.HeaderField{Key: HeaderTime, Value: d.Record.Time.UTC().Format(time.RFC3339Nano)},
	)
	return wire.AppendHeaders(nil, kept)
}
