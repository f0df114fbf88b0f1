package logstore

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// load opens the segments in l.dir and recovers them.
func (l *FileLog) load() error {
	fsys := l.cfg.FS
	if err := MkdirDurable(fsys, l.dir); err != nil {
		return fmt.Errorf("logstore: open %s: %w", l.dir, err)
	}
	bases, err := l.listSegments()
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		s, err := createSegment(fsys, l.dir, 1)
		if err != nil {
			return err
		}
		s.lastTime = math.MinInt64
		l.segs = []*segment{s}
		return nil
	}
	for _, base := range bases {
		l.segs = append(l.segs, &segment{base: base, name: segPath(l.dir, base)})
	}
	if err := l.loadSegments(bases); err != nil {
		return err
	}
	prev := int64(math.MinInt64)
	for _, s := range l.segs {
		if s.msgs == 0 {
			s.lastTime = prev
		}
		prev = s.lastTime
		l.msgs += s.msgs
		l.bytes += s.size
	}
	return nil
}

// loadWorkers bounds how many segments OpenFile loads at once.
var loadWorkers = min(runtime.GOMAXPROCS(0), 4)

// loadSegments opens and recovers l.segs, several at a time: each segment
// is independent (its own file, index and read buffer), so verifying every
// record of a large log takes its time divided by the cores, and keeps
// more reads in flight on a cold cache. It returns the first segment's
// error, in log order.
func (l *FileLog) loadSegments(bases []uint64) error {
	n := len(l.segs)
	errs := make([]error, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(loadWorkers, n) {
		wg.Go(func() {
			for i := range work {
				if i == n-1 {
					errs[i] = l.loadActive(l.segs[i])
				} else {
					errs[i] = l.loadSealed(l.segs[i], bases[i+1])
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// listSegments returns the segment bases in l.dir, ascending, and removes
// leftover temporary index files.
func (l *FileLog) listSegments() ([]uint64, error) {
	entries, err := l.cfg.FS.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("logstore: open %s: %w", l.dir, err)
	}
	var bases []uint64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), idxExt+".tmp") {
			_ = l.cfg.FS.Remove(filepath.Join(l.dir, e.Name()))
		}
		if base, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	return bases, nil
}

// createSegment creates an empty segment file and fsyncs the directory.
func createSegment(fsys FS, dir string, base uint64) (*segment, error) {
	s := &segment{base: base, name: segPath(dir, base), last: base - 1}
	f, err := fsys.OpenFile(s.name, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logstore: create segment %d: %w", base, err)
	}
	s.f = f
	if err := syncDir(fsys, dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: create segment %d: sync dir: %w", base, err)
	}
	return s, nil
}

// openSegment opens a segment file and returns its size.
func (l *FileLog) openSegment(s *segment, flag int) (int64, error) {
	f, err := l.cfg.FS.OpenFile(s.name, flag, 0)
	if err != nil {
		return 0, fmt.Errorf("logstore: open segment %d: %w", s.base, err)
	}
	s.f = f
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("logstore: open segment %d: %w", s.base, err)
	}
	return fi.Size(), nil
}

// apply copies a scan's findings into s.
func (s *segment) apply(r scanResult) {
	s.last, s.msgs, s.index, s.damaged = r.last, r.msgs, r.index, r.damaged
	s.firstTime, s.lastTime = r.firstTime, r.lastTime
}
