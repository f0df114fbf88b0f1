package logstore

import (
	"fmt"
	"os"
)

// scanBufSize is the read window used when walking whole segments.
const scanBufSize = 1 << 20

// loadActive opens the last segment and truncates a torn tail: everything
// from the first bad record on. If a valid record follows the bad one, the
// cut bytes are more than a torn write and are kept in a .torn file.
func (l *FileLog) loadActive(s *segment) error {
	size, err := l.openSegment(s, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return err
	}
	c := newCursor(s.f, size, make([]byte, scanBufSize), scanBufSize)
	res, err := scanTail(c, s.base, l.cfg.IndexEvery)
	if err != nil {
		return fmt.Errorf("logstore: recover segment %d: %w", s.base, err)
	}
	s.apply(res)
	s.size = size
	if res.badAt < 0 {
		return nil
	}
	later, err := laterRecord(c, res.badAt, res.last+1)
	if err != nil {
		return fmt.Errorf("logstore: recover segment %d: %w", s.base, err)
	}
	if later {
		l.saveTorn(s, res.badAt, size)
	}
	l.cfg.Logger.Warn("logstore: truncating torn tail", "segment", s.name,
		"offset", res.badAt, "bytes", size-res.badAt, "last_seq", res.last, "damage_not_tear", later)
	if err := s.f.Truncate(res.badAt); err != nil {
		return fmt.Errorf("logstore: truncate segment %d: %w", s.base, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("logstore: truncate segment %d: %w", s.base, err)
	}
	s.size = res.badAt
	return nil
}

// saveTorn copies bytes [from, to) of s to "<segment>.<from>.torn" for
// inspection; failing that only logs.
func (l *FileLog) saveTorn(s *segment, from, to int64) {
	name := fmt.Sprintf("%s.%d.torn", s.name, from)
	if err := l.copyOut(s.f, from, to, name); err != nil {
		l.cfg.Logger.Error("logstore: cannot save damaged tail", "file", name, "err", err)
	}
}

// copyOut writes bytes [from, to) of src to a new file name, durably.
func (l *FileLog) copyOut(src File, from, to int64, name string) error {
	b := make([]byte, to-from)
	if _, err := src.ReadAt(b, from); err != nil {
		return err
	}
	f, err := l.cfg.FS.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(l.cfg.FS, l.dir)
	}
	return err
}

// loadSealed opens a sealed segment, whose sequences lie below next. It
// verifies every record, or with TrustSealed only its index and the
// records after the index's last entry, and rebuilds a missing or
// inconsistent index.
func (l *FileLog) loadSealed(s *segment, next uint64) error {
	s.sealed = true
	size, err := l.openSegment(s, os.O_RDONLY)
	if err != nil {
		return err
	}
	s.size = size
	idx, idxErr := loadIndex(l.cfg.FS, idxPath(s.name), size)
	if l.cfg.TrustSealed && idxErr == nil && l.trustIndex(s, idx, next) {
		return nil
	}
	if err := l.verifySealed(s, next); err != nil {
		return err
	}
	if idxErr != nil || !sameIndex(idx, s.index) {
		l.cfg.Logger.Info("logstore: rebuilding index", "segment", s.name, "reason", idxErr)
		if err := writeIndex(l.cfg.FS, idxPath(s.name), s.index); err != nil {
			l.cfg.Logger.Warn("logstore: cannot write index", "err", err)
		}
	}
	return nil
}

// verifySealed scans all of s, resynchronising past damage, and reports
// sequences it could not find as damaged.
func (l *FileLog) verifySealed(s *segment, next uint64) error {
	c := newCursor(s.f, s.size, make([]byte, scanBufSize), scanBufSize)
	res, err := scanSealed(c, s.base, next, l.cfg.IndexEvery)
	if err != nil {
		return fmt.Errorf("logstore: verify segment %d: %w", s.base, err)
	}
	if res.last < next-1 {
		res.damaged = append(res.damaged, Range{First: res.last + 1, Last: next - 1})
		res.last = next - 1
	}
	s.apply(res)
	s.trusted = false
	if len(res.damaged) > 0 || res.end < s.size {
		l.cfg.Logger.Error("logstore: damaged sealed segment", "segment", s.name,
			"damaged", res.damaged, "trailing_bytes", s.size-res.end)
	}
	return nil
}

// trustIndex accepts a sealed segment on its index alone when the index
// starts at the segment's first record and the records after its last
// entry are valid and end exactly at the end of the file with seq next-1.
func (l *FileLog) trustIndex(s *segment, idx []indexEntry, next uint64) bool {
	if len(idx) == 0 || idx[0].off != 0 || idx[0].seq != s.base {
		return false
	}
	e := idx[len(idx)-1]
	c := newCursor(s.f, s.size, make([]byte, 64<<10), 64<<10)
	off, expect, nanos := e.off, e.seq, e.nanos
	for off < s.size {
		size, seq, t, ok, err := c.header(off)
		if err != nil || !ok || seq != expect {
			return false
		}
		if _, ok, err := c.frame(off, size); err != nil || !ok {
			return false
		}
		off, expect, nanos = off+int64(size), seq+1, t
	}
	if expect != next {
		return false
	}
	s.index, s.last, s.msgs, s.trusted = idx, next-1, next-s.base, true
	s.firstTime, s.lastTime = idx[0].nanos, nanos
	return true
}
