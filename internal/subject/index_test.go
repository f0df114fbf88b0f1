package subject

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func sorted(vals []int) []int {
	out := slices.Clone(vals)
	slices.Sort(out)
	return out
}

func mustInsert[T comparable](t testing.TB, x *Index[T], p string, v T) {
	t.Helper()
	if err := x.Insert(p, v); err != nil {
		t.Fatalf("Insert(%q): %v", p, err)
	}
}

func TestIndexBasic(t *testing.T) {
	var x Index[int] // zero value is usable
	mustInsert(t, &x, "orders.eu.created", 1)
	mustInsert(t, &x, "orders.*.created", 2)
	mustInsert(t, &x, "orders.>", 3)
	mustInsert(t, &x, ">", 4)
	mustInsert(t, &x, "orders.eu", 5)

	tests := map[string][]int{
		"orders.eu.created": {1, 2, 3, 4},
		"orders.us.created": {2, 3, 4},
		"orders.eu":         {3, 4, 5},
		"orders":            {4},
		"orders.eu.x.y":     {3, 4},
	}
	for subj, want := range tests {
		if got := sorted(x.Match(subj)); !slices.Equal(got, want) {
			t.Errorf("Match(%q) = %v, want %v", subj, got, want)
		}
		if got := sorted(x.MatchBytes([]byte(subj))); !slices.Equal(got, want) {
			t.Errorf("MatchBytes(%q) = %v, want %v", subj, got, want)
		}
	}
	if x.Len() != 5 {
		t.Errorf("Len = %d, want 5", x.Len())
	}
	want := []string{">", "orders.*.created", "orders.>", "orders.eu", "orders.eu.created"}
	if got := x.Patterns(); !slices.Equal(got, want) {
		t.Errorf("Patterns = %q, want %q", got, want)
	}
}

func TestIndexNoMatchIsNil(t *testing.T) {
	x := NewIndex[string]()
	mustInsert(t, x, "a.b", "v")
	for range 2 {
		if got := x.Match("a.c"); got != nil {
			t.Errorf("Match = %v, want nil", got)
		}
	}
}

func TestIndexInsertIsSetAndRemove(t *testing.T) {
	x := NewIndex[int]()
	mustInsert(t, x, "a.*", 1)
	mustInsert(t, x, "a.*", 1)
	mustInsert(t, x, "a.*", 2)
	if x.Len() != 2 {
		t.Fatalf("Len = %d after duplicate insert, want 2", x.Len())
	}
	if got := sorted(x.Match("a.b")); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("Match = %v", got)
	}
	if !x.Remove("a.*", 1) || x.Remove("a.*", 1) {
		t.Fatal("Remove should succeed once")
	}
	if x.Remove("a.b", 2) || x.Remove("a.*.c", 2) || x.Remove("", 2) || x.Remove("a.>.b", 2) {
		t.Fatal("Remove of absent pattern reported true")
	}
	if got := x.Match("a.b"); !slices.Equal(got, []int{2}) {
		t.Fatalf("Match after Remove = %v (stale cache?)", got)
	}
	if !x.Remove("a.*", 2) || x.Len() != 0 {
		t.Fatal("final Remove failed")
	}
	if !x.root.empty() {
		t.Errorf("trie not pruned: %+v", x.root)
	}
}

// A value reachable through several patterns is reported once.
func TestIndexDedup(t *testing.T) {
	for _, n := range []int{3, dedupLinearMax + 5} { // linear and map paths
		x := NewIndex[int]()
		for v := range n {
			mustInsert(t, x, "a.b", v)
			mustInsert(t, x, "a.*", v)
			mustInsert(t, x, "a.>", v)
		}
		got := x.Match("a.b")
		if len(got) != n || cap(got) != len(got) {
			t.Fatalf("n=%d: Match returned len %d cap %d, want %d distinct", n, len(got), cap(got), n)
		}
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(sorted(got), want) {
			t.Fatalf("n=%d: Match = %v", n, got)
		}
	}
}

func TestIndexInsertValidates(t *testing.T) {
	x := NewIndex[int]()
	for _, p := range []string{"", "a..b", "a.>.b", "a*", "a b"} {
		if err := x.Insert(p, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("Insert(%q) = %v, want ErrInvalid", p, err)
		}
	}
	if x.Len() != 0 {
		t.Errorf("Len = %d", x.Len())
	}
	y := NewIndexLimits[int](Limits{MaxTokens: 2})
	if err := y.Insert("a.b.c", 1); !errors.Is(err, ErrTooManyTokens) {
		t.Errorf("limited Insert = %v", err)
	}
}

// Large value sets switch to a position map; membership must stay right
// while growing and shrinking across the threshold.
func TestNodeLargeValueSet(t *testing.T) {
	x := NewIndex[int]()
	const n = 100
	for v := range n {
		mustInsert(t, x, "big", v)
		mustInsert(t, x, "big", v)
	}
	for v := 0; v < n; v += 2 {
		if !x.Remove("big", v) || x.Remove("big", v) {
			t.Fatalf("Remove(%d)", v)
		}
	}
	got := sorted(x.Match("big"))
	if len(got) != n/2 || got[0] != 1 || got[len(got)-1] != n-1 {
		t.Fatalf("after removing evens: %v", got)
	}
	for v := 1; v < n; v += 2 {
		if !x.Remove("big", v) {
			t.Fatalf("Remove(%d)", v)
		}
	}
	if x.Len() != 0 || x.Match("big") != nil {
		t.Fatal("set not empty")
	}
}

func TestCacheBoundedAndEvicts(t *testing.T) {
	x := NewIndex[int]()
	x.cache.max = 64
	mustInsert(t, x, "s.*", 7)
	for i := range 1000 {
		subj := fmt.Sprintf("s.%d", i)
		if got := x.Match(subj); !slices.Equal(got, []int{7}) {
			t.Fatalf("Match(%q) = %v", subj, got)
		}
		if n := x.cache.size(); n > 64 {
			t.Fatalf("cache holds %d entries, max 64", n)
		}
	}
	mustInsert(t, x, "s.5", 8) // all entries become stale
	if got := sorted(x.Match("s.5")); !slices.Equal(got, []int{7, 8}) {
		t.Fatalf("after insert Match = %v", got)
	}
}

func TestCacheSkipsHugeSubjects(t *testing.T) {
	x := NewIndex[int]()
	mustInsert(t, x, ">", 1)
	huge := make([]byte, maxCacheKey+1)
	for i := range huge {
		huge[i] = 'a'
	}
	if len(x.MatchBytes(huge)) != 1 || x.cache.size() != 0 {
		t.Fatal("huge subject should match but not be cached")
	}
}

func TestMatchCachedNoAlloc(t *testing.T) {
	x := NewIndex[int]()
	for i := range 100 {
		mustInsert(t, x, fmt.Sprintf("orders.%d.*", i), i)
	}
	mustInsert(t, x, "orders.>", -1)
	b := []byte("orders.42.created")
	s := string(b)
	x.MatchBytes(b) // warm
	var n int
	allocs := testing.AllocsPerRun(1000, func() {
		n = len(x.MatchBytes(b)) + len(x.Match(s))
	})
	if n != 4 {
		t.Fatalf("got %d results, want 4", n)
	}
	if allocs != 0 {
		t.Errorf("cached Match/MatchBytes allocate %v times per run, want 0", allocs)
	}
}
