package logstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// FileLog is a Storage kept in segment files in one directory. Appends are
// serialised by one writer goroutine, which batches concurrent callers into
// one write and, under SyncAlways, one fsync (group commit). Readers never
// see a record before it is as durable as the sync policy promises.
//
// One FileLog at a time may use a directory.
type FileLog struct {
	dir string
	cfg Config

	mu     sync.RWMutex // guards segs, msgs, bytes, closed and segment fields
	segs   []*segment   // oldest first; the last is active
	msgs   uint64
	bytes  int64
	closed bool

	readOnly atomic.Pointer[error] // set once a write or fsync failed

	reqs     chan *appendReq // unbuffered: a send succeeds only if the writer takes it
	quit     chan struct{}   // closed by Close
	stopped  chan struct{}   // closed when the writer exits
	syncTick chan struct{}   // SyncInterval timer to writer
	w        writer          // owned by the writer goroutine

	retainMu  sync.Mutex // serialises retention runs
	closeOnce sync.Once
	closeErr  error
}

// OpenFile opens the log in dir, creating dir and the log if needed, and
// recovers it: a torn tail of the last segment is truncated, damage in
// sealed segments is reported in State().Damaged, missing or inconsistent
// indexes are rebuilt, and the dedupe window is reloaded from the tail.
func OpenFile(dir string, cfg Config) (*FileLog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := &FileLog{
		dir:      dir,
		cfg:      cfg,
		reqs:     make(chan *appendReq),
		quit:     make(chan struct{}),
		stopped:  make(chan struct{}),
		syncTick: make(chan struct{}, 1),
	}
	if err := l.load(); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := l.startWriter(); err != nil {
		l.closeFiles()
		return nil, err
	}
	return l, nil
}

// Dir returns the log's directory.
func (l *FileLog) Dir() string { return l.dir }

// State describes the log.
func (l *FileLog) State() State {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := State{Msgs: l.msgs, Bytes: l.bytes, Segments: len(l.segs)}
	if len(l.segs) > 0 {
		st.FirstSeq = l.segs[0].base
		st.LastSeq = l.segs[len(l.segs)-1].last
	}
	for _, s := range l.segs {
		if s.msgs > 0 && st.FirstTime.IsZero() {
			st.FirstTime = time.Unix(0, s.firstTime).UTC()
		}
		if s.msgs > 0 {
			st.LastTime = time.Unix(0, s.lastTime).UTC()
		}
		st.Damaged = append(st.Damaged, s.damaged...)
	}
	if p := l.readOnly.Load(); p != nil {
		st.ReadOnly = *p
	}
	return st
}

// Close stops the writer, fsyncs what is unsynced and closes the files.
// Appends waiting to be taken fail with ErrClosed.
func (l *FileLog) Close() error {
	l.closeOnce.Do(func() {
		close(l.quit)
		<-l.stopped
		err := l.w.finalSync()
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.closeErr = errors.Join(err, l.closeFiles())
	})
	return l.closeErr
}

func (l *FileLog) closeFiles() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, s := range l.segs {
		if s.f != nil {
			if err := s.f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("logstore: close %s: %w", s.name, err))
			}
			s.f = nil
		}
	}
	return errors.Join(errs...)
}

// setReadOnly records the first write-path failure and returns the error
// every append now fails with.
func (l *FileLog) setReadOnly(cause error) error {
	err := readOnlyError(cause)
	if l.readOnly.CompareAndSwap(nil, &err) {
		l.cfg.Logger.Error("logstore: log turned read-only", "dir", l.dir, "err", cause)
		return err
	}
	return *l.readOnly.Load()
}

func (l *FileLog) readOnlyErr() error {
	if p := l.readOnly.Load(); p != nil {
		return *p
	}
	return nil
}
