package logstore

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// segment is one segment file. base and name never change; the other
// fields are guarded by FileLog.mu, and the active segment's are written
// only by the writer goroutine.
type segment struct {
	base uint64
	name string // file path
	f    File

	sealed    bool
	trusted   bool   // loaded on its index alone (TrustSealed); not yet verified
	last      uint64 // last sequence covered; base-1 while empty
	size      int64  // bytes readers may read
	msgs      uint64 // readable records
	firstTime int64  // unix nanos of the first readable record
	lastTime  int64  // of the last readable record; an empty segment carries its predecessor's
	index     []indexEntry
	damaged   []Range
}

const (
	segExt = ".seg"
	idxExt = ".idx"
)

func segPath(dir string, base uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, segExt))
}

func idxPath(segName string) string { return strings.TrimSuffix(segName, segExt) + idxExt }

// parseSegName returns the base sequence of a segment file name.
func parseSegName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segExt)
	if !ok || len(s) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(s, 10, 64)
	return base, err == nil && base > 0
}

// damagedAt returns the damaged range holding seq, if any.
func (s *segment) damagedAt(seq uint64) (Range, bool) {
	for _, r := range s.damaged {
		if r.Contains(seq) {
			return r, true
		}
	}
	return Range{}, false
}

// entryFor returns the last index entry at or before seq.
func (s *segment) entryFor(seq uint64) (indexEntry, bool) {
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].seq > seq })
	if i == 0 {
		return indexEntry{}, false
	}
	return s.index[i-1], true
}

// cursor reads a segment through a window buffer, so that walking records
// costs one read per window rather than one per record.
type cursor struct {
	r      io.ReaderAt
	limit  int64 // bytes past limit are never read
	window int   // preferred read size
	buf    []byte
	start  int64 // file offset of buf[0]
	n      int   // valid bytes in buf
}

func newCursor(r io.ReaderAt, limit int64, buf []byte, window int) *cursor {
	return &cursor{r: r, limit: limit, window: window, buf: buf[:cap(buf)]}
}

// at returns want bytes at off, or fewer when the limit comes first. The
// slice is valid until the next call.
func (c *cursor) at(off int64, want int) ([]byte, error) {
	if off >= c.limit {
		return nil, nil
	}
	if rem := c.limit - off; int64(want) > rem {
		want = int(rem)
	}
	if off >= c.start && off+int64(want) <= c.start+int64(c.n) {
		i := int(off - c.start)
		return c.buf[i : i+want], nil
	}
	size := int(min(int64(max(want, c.window)), c.limit-off))
	if size > len(c.buf) {
		c.buf = make([]byte, size)
	}
	n, err := c.r.ReadAt(c.buf[:size], off)
	if n < size && err != nil && err != io.EOF {
		c.n = 0
		return nil, err
	}
	c.start, c.n = off, n
	return c.buf[:min(want, n)], nil
}

// header reads the frame header at off: its size, sequence and time,
// unverified. ok is false when the bytes there cannot start a frame that
// ends within the limit.
func (c *cursor) header(off int64) (size int, seq uint64, nanos int64, ok bool, err error) {
	b, err := c.at(off, peekBytes)
	if err != nil || len(b) < peekBytes {
		return 0, 0, 0, false, err
	}
	size, ferr := frameSize(b)
	if ferr != nil || off+int64(size) > c.limit {
		return 0, 0, 0, false, nil
	}
	seq, nanos = peekSeq(b)
	return size, seq, nanos, true, nil
}

// frame returns the verified frame at off (size from header) or ok=false
// when its checksum or fields are bad.
func (c *cursor) frame(off int64, size int) ([]byte, bool, error) {
	b, err := c.at(off, size)
	if err != nil || len(b) < size {
		return nil, false, err
	}
	return b, validFrame(b), nil
}
