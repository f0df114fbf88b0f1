package logs

import (
	"cmp"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/wire"
)

// Dead-letter headers.
const (
	HeaderDLQReason     = "Ferry-DLQ-Reason"
	HeaderLog           = "Ferry-Log"
	HeaderSeq           = "Ferry-Seq"
	HeaderDeliveries    = "Ferry-Deliveries"
	HeaderSubject       = "Ferry-Subject"
	ReasonMaxDeliveries = "max deliveries"
	// ReasonDeliverFailed, followed by ": " and the error, is a push
	// delivery the broker refused (under AckNone, or out of deliveries).
	ReasonDeliverFailed = "deliver failed"
)

// deadRecord is a record out of deliveries.
type deadRecord struct {
	rec        logstore.Record
	deliveries int
	reason     string // Ferry-DLQ-Reason; "" is ReasonMaxDeliveries
}

// scheduleLocked arms the timer for the earliest pending deadline, unless
// it is already armed for that time or earlier.
func (s *consumerState) scheduleLocked(now time.Time) {
	if s.closed {
		return
	}
	var earliest time.Time
	for _, p := range s.pending {
		if earliest.IsZero() || p.due.Before(earliest) {
			earliest = p.due
		}
	}
	if earliest.IsZero() {
		return // a timer left armed fires once and finds nothing due
	}
	if s.timer != nil && !s.timerAt.After(earliest) {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerAt = earliest
	s.timer = s.m.cfg.Clock.AfterFunc(max(earliest.Sub(now), 0), s.expire)
}

// expire runs when the earliest deadline passes: it dead-letters the due
// records that are out of deliveries, wakes fetchers for the others, and
// rearms the timer.
func (s *consumerState) expire() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.timer = nil
	now := s.m.cfg.Clock.Now()
	var dead []deadRecord
	due := false
	for seq, p := range s.pending {
		if p.due.After(now) {
			continue
		}
		if s.cfg.MaxDeliveries == 0 || p.deliveries < s.cfg.MaxDeliveries {
			due = true
			continue
		}
		delete(s.pending, seq)
		if rec, err := s.log.store.Read(seq); err == nil {
			dead = append(dead, deadRecord{rec: rec, deliveries: p.deliveries})
		}
	}
	if due || len(dead) > 0 { // dead letters free room under MaxAckPending too
		s.wakeLocked()
	}
	s.scheduleLocked(now)
	s.mu.Unlock()
	slices.SortFunc(dead, func(a, b deadRecord) int { return cmp.Compare(a.rec.Seq, b.rec.Seq) })
	s.deadLetter(dead)
	if len(dead) > 0 {
		if err := s.save(); err != nil {
			s.m.cfg.Logger.Warn("logs: save consumer", "log", s.log.cfg.Name, "consumer", s.name, "err", err)
		}
	}
}

// deadLetter publishes records out of deliveries to the dead-letter
// subject: the original headers plus Ferry-DLQ-Reason, Ferry-Log,
// Ferry-Seq, Ferry-Deliveries and Ferry-Subject, and the original payload.
func (s *consumerState) deadLetter(dead []deadRecord) {
	for _, d := range dead {
		hs, err := wire.ParseHeaders(d.rec.Headers)
		if err != nil {
			hs = nil // stored headers are opaque to the log; drop a bad block
		}
		reason := d.reason
		if reason == "" {
			reason = ReasonMaxDeliveries
		}
		hs = append(hs,
			wire.HeaderField{Key: HeaderDLQReason, Value: reason},
			wire.HeaderField{Key: HeaderLog, Value: s.log.cfg.Name},
			wire.HeaderField{Key: HeaderSeq, Value: strconv.FormatUint(d.rec.Seq, 10)},
			wire.HeaderField{Key: HeaderDeliveries, Value: strconv.Itoa(d.deliveries)},
			wire.HeaderField{Key: HeaderSubject, Value: d.rec.Subject},
		)
		if s.m.cfg.Publish == nil {
			s.m.cfg.Logger.Warn("logs: dead letter dropped: no Publish", "log", s.log.cfg.Name, "consumer", s.name, "seq", d.rec.Seq)
			continue
		}
		s.m.cfg.Publish(s.cfg.DeadLetter, wire.AppendHeaders(nil, hs), d.rec.Payload)
	}
}

// save writes a durable consumer's position atomically; it does nothing
// for other consumers.
func (s *consumerState) save() error {
	if s.path == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	doc := consumerDoc{Version: formatV1, Config: s.cfg, Next: s.next}
	for seq, p := range s.pending {
		doc.Pending = append(doc.Pending, pendingDoc{Seq: seq, Deliveries: p.deliveries})
	}
	s.mu.Unlock()
	slices.SortFunc(doc.Pending, func(a, b pendingDoc) int { return cmp.Compare(a.Seq, b.Seq) })
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if !s.dirMade {
		if err := makeDirDurable(filepath.Dir(s.path)); err != nil {
			return err
		}
		s.dirMade = true
	}
	return writeAtomic(s.path, b)
}
