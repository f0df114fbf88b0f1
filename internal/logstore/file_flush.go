package logstore

import "fmt"

// flush writes the chunk to the active segment, fsyncs it under
// SyncAlways, publishes it to readers and answers its appends. On failure
// the log turns read-only and the appends get that error instead: nothing
// is ever acknowledged after a failed write or fsync.
func (w *writer) flush() error {
	if len(w.buf) > 0 {
		a := w.active
		n, err := a.f.Write(w.buf)
		w.size += int64(n)
		if err != nil {
			return w.fail(fmt.Errorf("logstore: write segment %d: %w", a.base, err))
		}
		w.dirty = true
		if w.l.cfg.Sync.Mode == SyncAlways {
			if err := a.f.Sync(); err != nil {
				return w.fail(fmt.Errorf("logstore: fsync segment %d: %w", a.base, err))
			}
			w.dirty = false
		}
		w.publish()
	}
	for _, q := range w.pendReqs {
		q.reply(q.res)
	}
	w.resetChunk()
	return nil
}

// publish makes the written chunk visible to readers.
func (w *writer) publish() {
	l, a := w.l, w.active
	l.mu.Lock()
	if a.msgs == 0 {
		a.firstTime = w.pendFirst
	}
	l.bytes += w.size - a.size
	l.msgs += w.pendMsgs
	a.size, a.last, a.msgs = w.size, w.next-1, a.msgs+w.pendMsgs
	a.lastTime = w.lastTime.UnixNano()
	a.index = append(a.index, w.pendIdx...)
	l.mu.Unlock()
}

// fail turns the log read-only and fails the chunk's appends.
func (w *writer) fail(cause error) error {
	err := w.l.setReadOnly(cause)
	failAll(w.pendReqs, err)
	w.resetChunk()
	return err
}

func (w *writer) resetChunk() {
	clear(w.pendReqs)
	w.pendReqs, w.pendIdx, w.pendMsgs = w.pendReqs[:0], w.pendIdx[:0], 0
	if cap(w.buf) > 4<<20 {
		w.buf = nil // do not keep a huge record's buffer
	}
	w.buf = w.buf[:0]
}

// roll seals the active segment (fsync, index file) and starts a new one
// (create, fsync the directory).
func (w *writer) roll() error {
	l, old := w.l, w.active
	if err := old.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("logstore: seal segment %d: %w", old.base, err))
	}
	w.dirty = false
	if err := writeIndex(l.cfg.FS, idxPath(old.name), old.index); err != nil {
		l.cfg.Logger.Warn("logstore: index not written; it will be rebuilt", "err", err)
	}
	s, err := createSegment(l.cfg.FS, l.dir, w.next)
	if err != nil {
		return w.fail(err)
	}
	s.lastTime = old.lastTime
	l.mu.Lock()
	old.sealed = true
	l.segs = append(l.segs, s)
	l.mu.Unlock()
	w.active, w.size, w.lastIdxOff, w.firstNanos = s, 0, -1, 0
	return nil
}

// intervalSync is the SyncInterval timer's work: fsync what was written
// since the last fsync, then schedule the next.
func (w *writer) intervalSync() {
	l := w.l
	if w.dirty && l.readOnlyErr() == nil {
		if err := w.active.f.Sync(); err != nil {
			l.setReadOnly(fmt.Errorf("logstore: fsync segment %d: %w", w.active.base, err))
		}
		w.dirty = false
	}
	w.timer = l.cfg.Clock.AfterFunc(l.cfg.Sync.Interval, l.tick)
}

// finalSync fsyncs unsynced writes when the log closes. It runs after the
// writer goroutine stopped.
func (w *writer) finalSync() error {
	if !w.dirty || w.l.readOnlyErr() != nil || w.active == nil || w.active.f == nil {
		return nil
	}
	w.dirty = false
	if err := w.active.f.Sync(); err != nil {
		return fmt.Errorf("logstore: fsync segment %d: %w", w.active.base, err)
	}
	return nil
}
