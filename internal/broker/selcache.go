package broker

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ferrymq/ferry/internal/selector"
)

type uint64Counter = atomic.Uint64

// selEntry is a parsed selector with its own anycast round-robin turn. A
// nil *selEntry is the empty selector.
type selEntry struct {
	sel  selector.Selector
	all  bool // the selector admits every endpoint
	turn uint64Counter
}

func (e *selEntry) empty() bool { return e == nil || e.all }

// admits reports whether ep's labels satisfy the selector.
func (e *selEntry) admits(ep *Endpoint) bool {
	return e.empty() || e.sel.Matches(ep.meta.Load().Labels)
}

// selCacheSize bounds the parsed-selector cache; past it the cache is
// cleared (selectors are few in practice: one per call site).
const selCacheSize = 1024

// selCache maps selector text to its parsed form.
type selCache struct {
	mu      sync.RWMutex // guards entries
	entries map[string]*selEntry
	none    selEntry // the empty selector's entry, for its round-robin turn
}

// selector returns the parsed selector for text; empty text yields the
// shared empty entry.
func (b *Broker) selector(text []byte) (*selEntry, error) {
	c := &b.sels
	if len(text) == 0 {
		return &c.none, nil // its all field is set by New
	}
	c.mu.RLock()
	e := c.entries[string(text)]
	c.mu.RUnlock()
	if e != nil {
		return e, nil
	}
	sel, err := selector.Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTarget, err)
	}
	e = &selEntry{sel: sel, all: sel.Empty()}
	c.mu.Lock()
	if len(c.entries) >= selCacheSize {
		clear(c.entries)
	}
	if c.entries == nil {
		c.entries = make(map[string]*selEntry)
	}
	if old := c.entries[string(text)]; old != nil {
		e = old
	} else {
		c.entries[string(text)] = e
	}
	c.mu.Unlock()
	return e, nil
}
