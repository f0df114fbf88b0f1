package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"time"
)

// ApplyRetention removes the oldest sealed segments that the retention
// limits let go; see Retention. The writer runs it after a commit when a
// segment is due, so callers need it only for age limits on an idle log.
func (l *FileLog) ApplyRetention() error {
	l.retainMu.Lock()
	defer l.retainMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	n := expiredSegments(l.segs, l.cfg.Retention, l.msgs, l.bytes, l.cfg.Clock.Now())
	victims := slices.Clone(l.segs[:n])
	l.segs = slices.Delete(l.segs, 0, n)
	for _, s := range victims {
		l.msgs -= s.msgs
		l.bytes -= s.size
	}
	l.mu.Unlock()
	if n == 0 {
		return nil
	}
	var errs []error
	for _, s := range victims {
		errs = append(errs, s.f.Close(), removeIfExists(l.cfg.FS, s.name), removeIfExists(l.cfg.FS, idxPath(s.name)))
	}
	if err := syncDir(l.cfg.FS, l.dir); err != nil {
		errs = append(errs, fmt.Errorf("logstore: retention: sync dir: %w", err))
	}
	return errors.Join(errs...)
}

// retainIfDue applies retention when a segment is due; it costs a look at
// the oldest segments otherwise.
func (l *FileLog) retainIfDue(now time.Time) {
	l.mu.RLock()
	due := expiredSegments(l.segs, l.cfg.Retention, l.msgs, l.bytes, now) > 0
	l.mu.RUnlock()
	if due {
		if err := l.ApplyRetention(); err != nil {
			l.cfg.Logger.Error("logstore: retention", "dir", l.dir, "err", err)
		}
	}
}

// expiredSegments returns how many of the oldest sealed segments may go:
// each one whose removal still leaves at least MaxMsgs records and
// MaxBytes bytes, or whose newest record is older than MaxAge (a segment
// without readable records goes by its predecessor's).
func expiredSegments(segs []*segment, r Retention, msgs uint64, bytes int64, now time.Time) int {
	n := 0
	for ; n < len(segs)-1; n++ {
		s := segs[n]
		drop := r.MaxMsgs > 0 && msgs-s.msgs >= r.MaxMsgs ||
			r.MaxBytes > 0 && bytes-s.size >= r.MaxBytes ||
			r.MaxAge > 0 && (s.lastTime == math.MinInt64 || now.UnixNano()-s.lastTime > int64(r.MaxAge))
		if !drop {
			break
		}
		msgs -= s.msgs
		bytes -= s.size
	}
	return n
}

func removeIfExists(fsys FS, name string) error {
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("logstore: retention: %w", err)
	}
	return nil
}
