package subject

import (
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
)

var alphabet = []string{"a", "b", "c"}

// randPattern returns a valid pattern of 1-4 tokens over alphabet.
func randPattern(r *rand.Rand) string {
	toks := make([]string, 1+r.Intn(4))
	for i := range toks {
		switch k := r.Intn(10); {
		case k < 2:
			toks[i] = "*"
		case k < 4 && i == len(toks)-1:
			toks[i] = ">"
		default:
			toks[i] = alphabet[r.Intn(len(alphabet))]
		}
	}
	return strings.Join(toks, ".")
}

// allSubjects returns every subject of 1-4 tokens over alphabet plus a few
// longer ones and some with a token outside the alphabet.
func allSubjects(r *rand.Rand) []string {
	out := []string{}
	level := []string{""}
	for range 4 {
		var next []string
		for _, p := range level {
			for _, tok := range alphabet {
				next = append(next, join(p, tok))
			}
		}
		out = append(out, next...)
		level = next
	}
	for range 40 {
		s := out[r.Intn(len(out))] + "." + alphabet[r.Intn(3)]
		out = append(out, s, s+".d", "d."+s)
	}
	return out
}

type entry struct {
	p string
	v int
}

// naiveMatch returns the sorted distinct values of all matching entries.
func naiveMatch(entries map[entry]bool, subj string) []int {
	var out []int
	for e := range entries {
		if Match(e.p, subj) && !slices.Contains(out, e.v) {
			out = append(out, e.v)
		}
	}
	slices.Sort(out)
	return out
}

func checkIndex(t *testing.T, x *Index[int], entries map[entry]bool, subjects []string) {
	t.Helper()
	if x.Len() != len(entries) {
		t.Fatalf("Len = %d, want %d", x.Len(), len(entries))
	}
	for _, subj := range subjects {
		want := naiveMatch(entries, subj)
		got := x.Match(subj)
		gotB := x.MatchBytes([]byte(subj))
		if !slices.Equal(got, gotB) {
			t.Fatalf("Match(%q) = %v but MatchBytes = %v", subj, got, gotB)
		}
		if s := sorted(got); !slices.Equal(s, want) {
			t.Fatalf("Match(%q) = %v, want %v (as a set, no duplicates)", subj, s, want)
		}
	}
}

func TestIndexProperty(t *testing.T) {
	for _, cacheMax := range []int{0, 16} { // default cache; tiny cache (evictions)
		r := rand.New(rand.NewSource(int64(42 + cacheMax)))
		subjects := allSubjects(r)
		x := NewIndex[int]()
		x.cache.max = cacheMax
		entries := map[entry]bool{}
		for range 6 {
			for range 150 {
				e := entry{randPattern(r), r.Intn(12)}
				mustInsert(t, x, e.p, e.v)
				entries[e] = true
			}
			checkIndex(t, x, entries, subjects) // cold
			checkIndex(t, x, entries, subjects) // warm
			for range 120 {
				e := entry{randPattern(r), r.Intn(12)}
				if r.Intn(2) == 0 {
					for e = range entries { // some present entry
						break
					}
				}
				if got := x.Remove(e.p, e.v); got != entries[e] {
					t.Fatalf("Remove(%q, %d) = %v, want %v", e.p, e.v, got, entries[e])
				}
				delete(entries, e)
			}
			checkIndex(t, x, entries, subjects) // cache was warm before removals
		}
		for e := range entries {
			x.Remove(e.p, e.v)
		}
		if x.Len() != 0 || !x.root.empty() || x.Patterns() != nil {
			t.Fatalf("index not empty after removing everything")
		}
	}
}

func TestIndexConcurrent(t *testing.T) {
	x := NewIndex[int]()
	x.cache.max = 64 // force evictions under contention too
	mustInsert(t, x, ">", -1)
	const writers, readers, ops = 4, 4, 1500
	var wg sync.WaitGroup
	owned := make([]map[entry]bool, writers)
	for w := range writers {
		owned[w] = map[entry]bool{}
		wg.Go(func() {
			r := rand.New(rand.NewSource(int64(w)))
			for range ops {
				e := entry{randPattern(r), w*100 + r.Intn(5)}
				if r.Intn(3) == 0 {
					x.Remove(e.p, e.v)
					delete(owned[w], e)
				} else {
					if err := x.Insert(e.p, e.v); err != nil {
						t.Error(err)
						return
					}
					owned[w][e] = true
				}
			}
		})
	}
	for g := range readers {
		wg.Go(func() {
			r := rand.New(rand.NewSource(int64(100 + g)))
			subjects := allSubjects(r)
			for i := range ops {
				s := subjects[r.Intn(len(subjects))]
				got := x.Match(s)
				if i%2 == 0 {
					got = x.MatchBytes([]byte(s))
				}
				if !slices.Contains(got, -1) || len(sorted(got)) != len(slices.Compact(sorted(got))) {
					t.Errorf("Match(%q) = %v: missing permanent value or duplicates", s, got)
					return
				}
				if i%100 == 0 {
					_, _ = x.Len(), x.Patterns()
				}
			}
		})
	}
	wg.Wait()
	all := map[entry]bool{{">", -1}: true}
	for _, m := range owned {
		for e := range m {
			all[e] = true
		}
	}
	checkIndex(t, x, all, allSubjects(rand.New(rand.NewSource(7))))
}
