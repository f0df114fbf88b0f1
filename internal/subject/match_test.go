package subject

import "testing"

var matchCases = []struct {
	name             string
	pattern, subject string
	want             bool
}{
	{"literal equal", "a.b.c", "a.b.c", true},
	{"literal differs", "a.b.c", "a.b.d", false},
	{"literal prefix of subject", "a.b", "a.b.c", false},
	{"subject prefix of literal", "a.b.c", "a.b", false},
	{"token prefix is not a match", "a.b", "a.bc", false},
	{"case sensitive", "A", "a", false},
	{"star one token", "a.*.c", "a.b.c", true},
	{"star needs a token", "a.*", "a", false},
	{"star not two tokens", "a.*", "a.b.c", false},
	{"star first", "*.b", "a.b", true},
	{"only star", "*", "a", true},
	{"only star vs two", "*", "a.b", false},
	{"many stars", "*.*.*", "a.b.c", true},
	{"gt one token", "a.>", "a.b", true},
	{"gt many tokens", "a.>", "a.b.c.d", true},
	{"gt needs a token", "a.>", "a", false},
	{"only gt", ">", "a.b.c", true},
	{"only gt single", ">", "a", true},
	{"star then gt", "*.>", "a", false},
	{"star then gt match", "*.>", "a.b", true},
	{"gt after mismatch", "a.>", "b.c", false},
	{"non-last gt is literal", "a.>.c", "a.>.c", true},
	{"non-last gt not wildcard", "a.>.c", "a.b.c", false},
	{"empty strings", "", "", true},
	{"star matches empty token", "a.*.c", "a..c", true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Match(tc.pattern, tc.subject); got != tc.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
			}
		})
	}
}

// The Index must agree with Match on every table case, including invalid
// subjects; invalid patterns are rejected by Insert.
func TestIndexAgreesWithMatchTable(t *testing.T) {
	for _, tc := range matchCases {
		x := NewIndex[int]()
		if err := x.Insert(tc.pattern, 1); err != nil {
			continue
		}
		for range 2 { // cold, then cached
			if got := len(x.Match(tc.subject)) == 1; got != tc.want {
				t.Errorf("%s: Index{%q}.Match(%q) = %v, want %v", tc.name, tc.pattern, tc.subject, got, tc.want)
			}
		}
	}
}

func TestIsLiteral(t *testing.T) {
	for p, want := range map[string]bool{
		"a.b.c": true, "a": true, "": true, "a*.b": true,
		"*": false, ">": false, "a.*.c": false, "a.>": false,
	} {
		if got := IsLiteral(p); got != want {
			t.Errorf("IsLiteral(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestMatchNoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(1000, func() {
		Match("orders.*.created.>", "orders.eu.created.x.y")
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run", allocs)
	}
}
