package logstore

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// startWriter sets the writer up from the recovered log, reloads the
// dedupe window and starts the writer goroutine.
func (l *FileLog) startWriter() error {
	a := l.segs[len(l.segs)-1]
	w := &l.w
	w.l, w.active, w.size, w.next, w.lastIdxOff = l, a, a.size, a.last+1, -1
	if n := len(a.index); n > 0 {
		w.lastIdxOff = a.index[n-1].off
	}
	if a.msgs > 0 {
		w.firstNanos = a.firstTime
	}
	if a.lastTime != math.MinInt64 {
		w.lastTime = time.Unix(0, a.lastTime).UTC()
	}
	d, err := l.loadDedupe()
	if err != nil {
		return err
	}
	w.dedupe = d
	if l.cfg.Sync.Mode == SyncInterval {
		w.timer = l.cfg.Clock.AfterFunc(l.cfg.Sync.Interval, l.tick)
	}
	go l.run()
	return nil
}

// loadDedupe rebuilds the dedupe window from the records of the last
// DedupeWindow.
func (l *FileLog) loadDedupe() (*dedupe, error) {
	d := newDedupe(l.cfg.DedupeWindow, l.cfg.DedupeMax)
	if l.cfg.DedupeWindow == 0 {
		return d, nil
	}
	seq, err := l.SeqForTime(l.cfg.Clock.Now().Add(-l.cfg.DedupeWindow))
	if err != nil {
		return nil, fmt.Errorf("logstore: load dedupe window: %w", err)
	}
	for {
		recs, err := l.ReadBatch(seq, 1024, 0)
		if err != nil {
			var ce *CorruptError
			if errors.As(err, &ce) {
				seq = l.pastDamage(ce.Seq)
				continue
			}
			return nil, fmt.Errorf("logstore: load dedupe window: %w", err)
		}
		if len(recs) == 0 {
			return d, nil
		}
		for _, r := range recs {
			d.add(r.MsgID, r.Seq, r.Time)
		}
		seq = recs[len(recs)-1].Seq + 1
	}
}

// run is the writer goroutine: it takes every waiting append at once and
// commits them together.
func (l *FileLog) run() {
	defer close(l.stopped)
	batch := make([]*appendReq, 0, maxBatch)
	for {
		select {
		case q := <-l.reqs:
			batch = append(batch[:0], q)
		drain:
			for len(batch) < maxBatch {
				select {
				case q := <-l.reqs:
					batch = append(batch, q)
				default:
					break drain
				}
			}
			l.w.commit(batch)
			clear(batch)
		case <-l.syncTick:
			l.w.intervalSync()
		case <-l.quit:
			if l.w.timer != nil {
				l.w.timer.Stop()
			}
			return
		}
	}
}

func (l *FileLog) tick() {
	select {
	case l.syncTick <- struct{}{}:
	default:
	}
}

// commit stores a batch: encodes every record, writes them with one write
// per segment touched, fsyncs once under SyncAlways, publishes them to
// readers and only then replies.
func (w *writer) commit(batch []*appendReq) {
	l := w.l
	if err := l.readOnlyErr(); err != nil {
		failAll(batch, err)
		return
	}
	now := l.cfg.Clock.Now()
	for i, q := range batch {
		if err := w.add(q, now); err != nil {
			failAll(batch[i+1:], err)
			return
		}
	}
	if w.flush() == nil {
		l.retainIfDue(now)
	}
}

func failAll(batch []*appendReq, err error) {
	for _, q := range batch {
		q.reply(appendResult{err: err})
	}
}

// add puts one append into the chunk, rolling the segment first if needed.
// An error means the log turned read-only; q has been answered.
func (w *writer) add(q *appendReq, now time.Time) error {
	if err := q.ctx.Err(); err != nil {
		q.reply(appendResult{err: err})
		return nil
	}
	if seq, ok := w.dedupe.lookup(q.rec.MsgID, now); ok {
		q.res = appendResult{seq: seq, dup: true}
		w.pendReqs = append(w.pendReqs, q) // answered once the original is durable
		return nil
	}
	if w.needRoll(q.rec.Size(), now) {
		err := w.flush()
		if err == nil {
			err = w.roll()
		}
		if err != nil {
			q.reply(appendResult{err: err})
			return err
		}
	}
	w.encode(q, now)
	return nil
}

// needRoll reports whether a record of size bytes belongs in a new
// segment: the active one is not empty and would grow past
// MaxSegmentBytes, or its first record is older than Retention.MaxAge (so
// that age retention can remove it).
func (w *writer) needRoll(size int, now time.Time) bool {
	used := w.size + int64(len(w.buf))
	if used == 0 {
		return false
	}
	maxAge := w.l.cfg.Retention.MaxAge
	return used+int64(size) > w.l.cfg.MaxSegmentBytes ||
		maxAge > 0 && now.UnixNano()-w.firstNanos > int64(maxAge)
}

func (w *writer) encode(q *appendReq, now time.Time) {
	r := &q.rec
	r.Seq = w.next
	r.Time = stampTime(r.Time, now, w.lastTime)
	nanos := r.Time.UnixNano()
	off := w.size + int64(len(w.buf))
	if off == 0 {
		w.firstNanos = nanos
	}
	if w.pendMsgs == 0 {
		w.pendFirst = nanos
	}
	if w.lastIdxOff < 0 || off-w.lastIdxOff >= int64(w.l.cfg.IndexEvery) {
		w.pendIdx = append(w.pendIdx, indexEntry{seq: r.Seq, off: off, nanos: nanos})
		w.lastIdxOff = off
	}
	w.buf = appendRecord(w.buf, r)
	w.next++
	w.lastTime = r.Time
	w.pendMsgs++
	w.dedupe.add(r.MsgID, r.Seq, r.Time)
	q.res = appendResult{seq: r.Seq}
	w.pendReqs = append(w.pendReqs, q)
}
