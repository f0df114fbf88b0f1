package logstore

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// damageFound is a read finding damage in a segment that was trusted on
// its index: the caller verifies the segment and retries once.
type damageFound struct {
	s   *segment
	err *CorruptError
}

func (d *damageFound) Error() string { return d.err.Error() }

const batchWindow = 256 << 10 // read size of ReadBatch and SeqForTime

var readBufs = sync.Pool{New: func() any { b := make([]byte, batchWindow); return &b }}

func getBuf() *[]byte { return readBufs.Get().(*[]byte) }

// putBuf returns a buffer to the pool, keeping the cursor's if it grew.
func putBuf(b *[]byte, c *cursor) {
	if cap(c.buf) > cap(*b) && cap(c.buf) <= 4*batchWindow {
		*b = c.buf
	}
	readBufs.Put(b)
}

// Read returns record seq; see Storage.
func (l *FileLog) Read(seq uint64) (Record, error) {
	rec, err := l.read(seq)
	if s := trustedDamage(err); s != nil {
		l.rescan(s)
		rec, err = l.read(seq)
	}
	return rec, settled(err)
}

func (l *FileLog) read(seq uint64) (Record, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return Record{}, ErrClosed
	}
	s := l.segmentFor(seq)
	if s == nil {
		return Record{}, fmt.Errorf("logstore: read %d: %w", seq, ErrNotFound)
	}
	b := getBuf()
	var it iter
	defer putBuf(b, &it.c)
	if err := it.seek(l, s, seq, *b, l.readWindow()); err != nil {
		return Record{}, err
	}
	return it.next()
}

// readWindow is the first read of a Read: enough for an index gap and a
// small record, so that most Reads cost one pread.
func (l *FileLog) readWindow() int { return min(l.cfg.IndexEvery+2<<10, batchWindow) }

// ReadBatch returns consecutive records; see Storage.
func (l *FileLog) ReadBatch(from uint64, maxMsgs, maxBytes int) ([]Record, error) {
	out, err := l.readBatch(from, maxMsgs, maxBytes)
	if s := trustedDamage(err); s != nil && len(out) == 0 {
		l.rescan(s)
		out, err = l.readBatch(from, maxMsgs, maxBytes)
	}
	if len(out) > 0 {
		return out, nil // the next call starts at the failing record and reports it
	}
	return out, settled(err)
}

func (l *FileLog) readBatch(from uint64, maxMsgs, maxBytes int) ([]Record, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	seq, last := max(from, l.segs[0].base), l.segs[len(l.segs)-1].last
	var out []Record
	total := 0
	b := getBuf()
	var it iter
	defer putBuf(b, &it.c)
	for seq <= last && (maxMsgs <= 0 || len(out) < maxMsgs) {
		if it.s == nil || seq > it.s.last || it.seq != seq {
			if err := it.seek(l, l.segmentFor(seq), seq, *b, batchWindow); err != nil {
				return out, err
			}
		}
		if _, bad := it.s.damagedAt(seq); bad {
			return out, l.knownDamage(it.s, seq)
		}
		rec, err := it.next()
		if err != nil {
			return out, err
		}
		n := rec.Size()
		if maxBytes > 0 && len(out) > 0 && total+n > maxBytes {
			break
		}
		out, total, seq = append(out, rec), total+n, seq+1
	}
	return out, nil
}

// SeqForTime returns the first sequence whose time is not before t; see Storage.
func (l *FileLog) SeqForTime(t time.Time) (uint64, error) {
	seq, err := l.seqForTime(t.UnixNano())
	if s := trustedDamage(err); s != nil {
		l.rescan(s)
		seq, err = l.seqForTime(t.UnixNano())
	}
	return seq, settled(err)
}

// seqForTime binary-searches the segments by their last record's time,
// then the chosen segment's sparse index, then walks at most one index gap.
func (l *FileLog) seqForTime(t int64) (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return 0, ErrClosed
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].lastTime >= t })
	b := getBuf()
	var it iter
	defer putBuf(b, &it.c)
	for ; i < len(l.segs); i++ {
		if s := l.segs[i]; s.msgs > 0 {
			seq, ok, err := it.findTime(l, s, t, *b)
			if err != nil || ok {
				return seq, err
			}
		}
	}
	return l.segs[len(l.segs)-1].last + 1, nil
}

// findTime returns the first record of s not before t, stepping over
// damaged ranges.
func (it *iter) findTime(l *FileLog, s *segment, t int64, buf []byte) (uint64, bool, error) {
	j := sort.Search(len(s.index), func(j int) bool { return s.index[j].nanos >= t })
	if err := it.seek(l, s, s.index[max(j-1, 0)].seq, buf, batchWindow); err != nil {
		return 0, false, err
	}
	for it.seq <= s.last {
		if r, bad := s.damagedAt(it.seq); bad {
			if r.Last >= s.last {
				break
			}
			if err := it.seek(l, s, r.Last+1, buf, batchWindow); err != nil {
				return 0, false, err
			}
		}
		rec, err := it.next()
		if err != nil {
			return 0, false, err
		}
		if rec.Time.UnixNano() >= t {
			return rec.Seq, true, nil
		}
	}
	return 0, false, nil
}

// trustedDamage returns the segment to verify when err is damage found in
// a segment trusted on its index.
func trustedDamage(err error) *segment {
	var d *damageFound
	if errors.As(err, &d) {
		return d.s
	}
	return nil
}

// settled turns an internal damageFound into the CorruptError it carries.
func settled(err error) error {
	var d *damageFound
	if errors.As(err, &d) {
		return d.err
	}
	return err
}

// rescan verifies a trusted segment in full, recording its damage.
func (l *FileLog) rescan(s *segment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.segs, s)
	if l.closed || i < 0 || !s.trusted || i == len(l.segs)-1 {
		return
	}
	before := s.msgs
	if err := l.verifySealed(s, l.segs[i+1].base); err != nil {
		l.cfg.Logger.Error("logstore: verify segment", "segment", s.name, "err", err)
	}
	l.msgs = l.msgs - before + s.msgs
}

// segmentFor returns the segment covering seq, or nil outside the log.
func (l *FileLog) segmentFor(seq uint64) *segment {
	if len(l.segs) == 0 || seq < l.segs[0].base || seq > l.segs[len(l.segs)-1].last {
		return nil
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > seq })
	return l.segs[i-1]
}

// pastDamage returns the first sequence after the damaged range holding
// seq, or seq+1.
func (l *FileLog) pastDamage(seq uint64) uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if s := l.segmentFor(seq); s != nil {
		if r, ok := s.damagedAt(seq); ok {
			return r.Last + 1
		}
	}
	return seq + 1
}

func (l *FileLog) knownDamage(s *segment, seq uint64) error {
	r, _ := s.damagedAt(seq)
	return &CorruptError{Seq: seq, Segment: s.name, Offset: -1,
		Reason: fmt.Sprintf("in damaged range %d-%d", r.First, r.Last)}
}

// damage reports damage a read stumbled on at off.
func (l *FileLog) damage(s *segment, seq uint64, off int64, reason string) error {
	err := &CorruptError{Seq: seq, Segment: s.name, Offset: off, Reason: reason}
	if s.trusted {
		return &damageFound{s: s, err: err}
	}
	return err
}
