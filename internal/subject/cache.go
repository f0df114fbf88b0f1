package subject

import "sync"

// Cache tuning.
const (
	// cacheSize bounds the number of cached subjects per Index.
	cacheSize = 4096
	// maxCacheKey is the longest subject whose result is cached; longer
	// (necessarily unusual) subjects would make the bound on entries a
	// poor bound on memory.
	maxCacheKey = 1024
)

// cacheEntry is a match result tagged with the generation it was computed in.
type cacheEntry[T any] struct {
	gen  uint64
	vals []T // shared, read-only; nil when nothing matched
}

// matchCache maps subjects to match results.
//
// Invalidation is O(1): every Index update bumps gen, and entries from an
// older generation are treated as misses and overwritten in place. When the
// map is full, evict first drops every stale entry and then arbitrary live
// entries (Go randomizes map iteration order, so this is random eviction)
// until half the capacity is free; the O(n) sweep is amortised over the
// cacheSize/2 misses that refill it.
type matchCache[T comparable] struct {
	mu  sync.RWMutex
	gen uint64
	max int // capacity; 0 means cacheSize
	m   map[string]cacheEntry[T]
}

// get returns the cached result for s, if current.
func (c *matchCache[T]) get(s string) ([]T, bool) {
	c.mu.RLock()
	e, ok := c.m[s]
	ok = ok && e.gen == c.gen
	c.mu.RUnlock()
	return e.vals, ok
}

// getBytes is get for a byte slice; the m[string(b)] form does not allocate.
func (c *matchCache[T]) getBytes(b []byte) ([]T, bool) {
	c.mu.RLock()
	e, ok := c.m[string(b)]
	ok = ok && e.gen == c.gen
	c.mu.RUnlock()
	return e.vals, ok
}

// put stores vals for key in the current generation. The caller must own
// key (the map keeps it) and must hold the Index read lock so that the
// generation cannot move between computing vals and storing them.
func (c *matchCache[T]) put(key string, vals []T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cacheEntry[T])
	}
	if len(c.m) >= c.capacity() {
		if _, ok := c.m[key]; !ok {
			c.evict()
		}
	}
	c.m[key] = cacheEntry[T]{gen: c.gen, vals: vals}
}

// invalidate marks every cached result stale. The caller holds the Index
// write lock.
func (c *matchCache[T]) invalidate() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

func (c *matchCache[T]) capacity() int {
	if c.max > 0 {
		return c.max
	}
	return cacheSize
}

// evict frees at least half of the capacity. The caller holds c.mu.
func (c *matchCache[T]) evict() {
	for k, e := range c.m {
		if e.gen != c.gen {
			delete(c.m, k)
		}
	}
	keep := c.capacity() / 2
	for k := range c.m {
		if len(c.m) <= keep {
			break
		}
		delete(c.m, k)
	}
}

// size returns the number of stored entries (tests).
func (c *matchCache[T]) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
