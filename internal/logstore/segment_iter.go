package logstore

import "fmt"

// iter walks the records of one segment in order. Callers hold FileLog.mu.
type iter struct {
	l   *FileLog
	s   *segment
	c   cursor
	off int64  // offset of the next record
	seq uint64 // its sequence
}

// seek positions it on record seq of s, reading through buf: from the
// nearest index entry at or before seq it steps over frame headers,
// unverified; the record itself is verified by next.
func (it *iter) seek(l *FileLog, s *segment, seq uint64, buf []byte, window int) error {
	if _, bad := s.damagedAt(seq); bad {
		return l.knownDamage(s, seq)
	}
	e, ok := s.entryFor(seq)
	if !ok {
		return l.damage(s, seq, -1, "no index entry")
	}
	if it.s != s { // keep the window when staying in the segment
		it.c = cursor{r: s.f, limit: s.size, window: window, buf: buf[:cap(buf)]}
	}
	it.l, it.s, it.off, it.seq = l, s, e.off, e.seq
	for it.seq < seq {
		size, got, _, ok, err := it.c.header(it.off)
		if err != nil {
			return fmt.Errorf("logstore: read segment %d: %w", s.base, err)
		}
		if !ok || got != it.seq {
			return l.damage(s, seq, it.off, "bad frame header")
		}
		it.off += int64(size)
		it.seq++
	}
	return nil
}

// next decodes and verifies the record at the iterator and moves past it.
func (it *iter) next() (Record, error) {
	b, err := it.c.at(it.off, peekBytes)
	if err != nil {
		return Record{}, fmt.Errorf("logstore: read segment %d: %w", it.s.base, err)
	}
	size, ferr := frameSize(b)
	if ferr == nil {
		if b, err = it.c.at(it.off, size); err != nil {
			return Record{}, fmt.Errorf("logstore: read segment %d: %w", it.s.base, err)
		}
	}
	var rec Record
	if ferr == nil {
		rec, _, ferr = decodeRecord(b)
	}
	if ferr == nil && rec.Seq != it.seq {
		ferr = fmt.Errorf("found seq %d", rec.Seq)
	}
	if ferr != nil {
		return Record{}, it.l.damage(it.s, it.seq, it.off, ferr.Error())
	}
	it.off += int64(size)
	it.seq++
	return rec, nil
}
