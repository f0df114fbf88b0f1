package logs

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/ferrymq/ferry/internal/logstore"
)

// logEntry is one open log.
type logEntry struct {
	cfg   LogConfig
	store logstore.Storage

	mu        sync.Mutex // guards consumers, notify, ephemeral, closed
	consumers map[string]*consumerState
	notify    chan struct{} // closed on the next append; nil when nobody waits
	ephemeral int           // counter for ephemeral consumer names
	closed    bool
}

func newLogEntry(cfg LogConfig, st logstore.Storage) *logEntry {
	return &logEntry{cfg: cfg, store: st, consumers: map[string]*consumerState{}}
}

// append stores r and wakes waiting fetchers.
func (e *logEntry) append(ctx context.Context, r logstore.Record) (uint64, bool, error) {
	seq, dup, err := e.store.Append(ctx, r)
	if err == nil && !dup {
		e.wake()
	}
	return seq, dup, err
}

// wait returns a channel closed at the next append or close.
func (e *logEntry) wait() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.notify == nil {
		e.notify = make(chan struct{})
		if e.closed {
			close(e.notify)
		}
	}
	return e.notify
}

func (e *logEntry) wake() {
	e.mu.Lock()
	if e.notify != nil {
		close(e.notify)
		e.notify = nil
	}
	e.mu.Unlock()
}

func (e *logEntry) info() LogInfo {
	e.mu.Lock()
	cs := make([]*consumerState, 0, len(e.consumers))
	for _, c := range e.consumers {
		cs = append(cs, c)
	}
	e.mu.Unlock()
	slices.SortFunc(cs, func(a, b *consumerState) int { return strings.Compare(a.name, b.name) })
	li := LogInfo{Config: e.cfg, State: e.store.State()}
	li.Config.Subjects = slices.Clone(e.cfg.Subjects)
	for _, c := range cs {
		li.Consumers = append(li.Consumers, c.info())
	}
	return li
}

// close closes the consumers and the storage, waking every waiter.
func (e *logEntry) close() error {
	e.mu.Lock()
	e.closed = true
	cs := e.consumers
	e.consumers = map[string]*consumerState{}
	if e.notify != nil {
		close(e.notify)
		e.notify = nil
	}
	e.mu.Unlock()
	for _, c := range cs {
		c.close()
		c.waitPusher()
		c.saveMu.Lock() // let a save in flight finish before the caller removes files
		c.saveMu.Unlock()
	}
	return e.store.Close()
}
