package subject

import "strings"

// linearMax is the number of values a node keeps before it adds a position
// map for O(1) membership tests; small sets are scanned linearly.
const linearMax = 16

// node is one trie level. Literal children are kept in a map keyed by token
// so that literal-heavy workloads cost one map lookup per token.
type node[T comparable] struct {
	lit  map[string]*node[T] // literal tokens
	star *node[T]            // "*" child
	full *node[T]            // ">" child; only its vals are used
	vals []T                 // values whose pattern ends here (a set)
	pos  map[T]int           // index into vals; nil while vals is small
}

// child returns the child for tok, creating it when create is set.
func (n *node[T]) child(tok string, create bool) *node[T] {
	var slot **node[T]
	switch tok {
	case "*":
		slot = &n.star
	case ">":
		slot = &n.full
	default:
		c := n.lit[tok]
		if c == nil && create {
			if n.lit == nil {
				n.lit = make(map[string]*node[T])
			}
			c = new(node[T])
			// Clone so the trie never pins a larger string the pattern
			// may have been sliced from.
			n.lit[strings.Clone(tok)] = c
		}
		return c
	}
	if *slot == nil && create {
		*slot = new(node[T])
	}
	return *slot
}

// unlink removes the child for tok.
func (n *node[T]) unlink(tok string) {
	switch tok {
	case "*":
		n.star = nil
	case ">":
		n.full = nil
	default:
		delete(n.lit, tok)
	}
}

// empty reports whether n holds nothing and can be pruned.
func (n *node[T]) empty() bool {
	return len(n.vals) == 0 && len(n.lit) == 0 && n.star == nil && n.full == nil
}

// find returns the index of v in n.vals, or -1.
func (n *node[T]) find(v T) int {
	if n.pos != nil {
		if i, ok := n.pos[v]; ok {
			return i
		}
		return -1
	}
	for i, w := range n.vals {
		if w == v {
			return i
		}
	}
	return -1
}

// add inserts v and reports whether it was absent.
func (n *node[T]) add(v T) bool {
	if n.find(v) >= 0 {
		return false
	}
	n.vals = append(n.vals, v)
	switch {
	case n.pos != nil:
		n.pos[v] = len(n.vals) - 1
	case len(n.vals) > linearMax:
		n.pos = make(map[T]int, len(n.vals))
		for i, w := range n.vals {
			n.pos[w] = i
		}
	}
	return true
}

// del removes v (swapping the last value into its slot) and reports whether
// it was present.
func (n *node[T]) del(v T) bool {
	i := n.find(v)
	if i < 0 {
		return false
	}
	last := len(n.vals) - 1
	moved := n.vals[last]
	n.vals[i] = moved
	var zero T
	n.vals[last] = zero // let the GC reclaim pointer values
	n.vals = n.vals[:last]
	if n.pos != nil {
		delete(n.pos, v)
		if i != last {
			n.pos[moved] = i
		}
		if len(n.vals) <= linearMax/2 {
			n.pos = nil
		}
	}
	if len(n.vals) == 0 {
		n.vals = nil
	}
	return true
}

// collect appends to parts the value sets of every pattern under n that
// matches the subject suffix starting at byte i of s (i > len(s) means no
// tokens remain). Visiting order is literal, "*", then ">" at each level,
// which makes results deterministic for a given history of updates.
func (n *node[T]) collect(s string, i int, parts [][]T) [][]T {
	if i > len(s) {
		if len(n.vals) > 0 {
			parts = append(parts, n.vals)
		}
		return parts
	}
	tok, next := nextToken(s, i)
	if c := n.lit[tok]; c != nil {
		parts = c.collect(s, next, parts)
	}
	if n.star != nil {
		parts = n.star.collect(s, next, parts)
	}
	if n.full != nil && len(n.full.vals) > 0 {
		parts = append(parts, n.full.vals)
	}
	return parts
}

// walk calls fn for every pattern under n that holds values.
func (n *node[T]) walk(prefix string, fn func(pattern string, vals []T)) {
	if len(n.vals) > 0 {
		fn(prefix, n.vals)
	}
	for tok, c := range n.lit {
		c.walk(join(prefix, tok), fn)
	}
	if n.star != nil {
		n.star.walk(join(prefix, "*"), fn)
	}
	if n.full != nil {
		n.full.walk(join(prefix, ">"), fn)
	}
}

func join(prefix, tok string) string {
	if prefix == "" {
		return tok
	}
	return prefix + "." + tok
}
