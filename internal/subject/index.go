package subject

import (
	"slices"
	"strings"
	"sync"
)

// Index maps subscription patterns to values and finds all values whose
// pattern matches a subject. Each (pattern, value) pair is a set element:
// inserting it twice stores it once.
//
// Patterns live in a token trie (a map of literal children per node plus
// "*" and ">" children) guarded by a sync.RWMutex. Match results are kept in
// a bounded cache (4096 subjects, random half eviction) that every Insert
// or Remove invalidates, so a publish on a recently seen subject costs one
// map lookup under a read lock and does not allocate.
//
// Index is safe for concurrent use. The zero value is an empty Index with
// default Limits.
type Index[T comparable] struct {
	limits Limits
	mu     sync.RWMutex // guards root and n; taken before cache.mu
	root   node[T]
	n      int
	cache  matchCache[T]
}

// NewIndex returns an empty Index that accepts patterns within the default
// Limits.
func NewIndex[T comparable]() *Index[T] { return &Index[T]{} }

// NewIndexLimits returns an empty Index whose Insert validates patterns
// against l.
func NewIndexLimits[T comparable](l Limits) *Index[T] { return &Index[T]{limits: l} }

// Insert adds (pattern, v). It returns a validation error (see
// ValidatePattern) for an invalid pattern. Inserting a pair that is already
// present is a no-op.
func (x *Index[T]) Insert(pattern string, v T) error {
	if err := x.limits.ValidatePattern(pattern); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n := &x.root
	for i := 0; i <= len(pattern); {
		tok, next := nextToken(pattern, i)
		n = n.child(tok, true)
		i = next
	}
	if n.add(v) {
		x.n++
		x.cache.invalidate()
	}
	return nil
}

// step records one edge of the path taken by Remove.
type step[T comparable] struct {
	parent *node[T]
	tok    string
}

// Remove deletes (pattern, v) and reports whether it was present. Trie
// nodes left empty are pruned, so subscription churn does not leak memory.
func (x *Index[T]) Remove(pattern string, v T) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	var buf [DefaultMaxTokens]step[T]
	path := buf[:0]
	n := &x.root
	for i := 0; i <= len(pattern); {
		tok, next := nextToken(pattern, i)
		c := n.child(tok, false)
		if c == nil {
			return false
		}
		path = append(path, step[T]{n, tok})
		n, i = c, next
	}
	if !n.del(v) {
		return false
	}
	x.n--
	x.cache.invalidate()
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		path[i].parent.unlink(path[i].tok)
		n = path[i].parent
	}
	return true
}

// Match returns the values whose pattern matches subject, each value at
// most once, or nil when none does. The order is deterministic for a given
// sequence of updates but otherwise unspecified.
//
// The returned slice is shared (it may come from the cache) and must not be
// modified. Match does not validate subject; validate it with
// ValidatePublish first. For any subject the result agrees with the
// reference Match function applied to every stored pattern.
func (x *Index[T]) Match(subject string) []T {
	if vals, ok := x.cache.get(subject); ok {
		return vals
	}
	return x.miss(subject, false)
}

// MatchBytes is Match for a byte slice. On a cache hit it does not
// allocate.
func (x *Index[T]) MatchBytes(subject []byte) []T {
	if vals, ok := x.cache.getBytes(subject); ok {
		return vals
	}
	return x.miss(string(subject), true)
}

// miss computes the result for subject from the trie and caches it. owned
// reports whether subject is a private copy the cache may keep.
func (x *Index[T]) miss(subject string, owned bool) []T {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var buf [8][]T
	vals := merge(x.root.collect(subject, 0, buf[:0]))
	if len(subject) <= maxCacheKey {
		if !owned {
			subject = strings.Clone(subject)
		}
		x.cache.put(subject, vals)
	}
	return vals
}

// dedupLinearMax is the result size up to which merge deduplicates by
// scanning instead of building a set.
const dedupLinearMax = 32

// merge flattens the value sets found by collect into a fresh slice whose
// capacity equals its length (so a caller's append cannot write into a
// shared cached result). A value reachable through several patterns is kept
// once, at its first position.
func merge[T comparable](parts [][]T) []T {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return append(make([]T, 0, len(parts[0])), parts[0]...)
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	out := make([]T, 0, total)
	var seen map[T]struct{}
	if total > dedupLinearMax {
		seen = make(map[T]struct{}, total)
	}
	for _, p := range parts {
		for _, v := range p {
			if seen != nil {
				if _, dup := seen[v]; dup {
					continue
				}
				seen[v] = struct{}{}
			} else if slices.Contains(out, v) {
				continue
			}
			out = append(out, v)
		}
	}
	return out[:len(out):len(out)]
}

// Len returns the number of (pattern, value) entries.
func (x *Index[T]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.n
}

// Patterns returns the distinct patterns that hold at least one value, in
// sorted order.
func (x *Index[T]) Patterns() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	x.root.walk("", func(p string, _ []T) { out = append(out, p) })
	slices.Sort(out)
	return out
}
