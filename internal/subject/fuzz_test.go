package subject

import (
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	"", ".", "..", "a", "a.b.c", "*", ">", "a.*", "a.>", "*.>", "a.>.b",
	"a*", "*a", ">>", "a..b", " a", "a\tb", "a\x7f", "a\x00b", "é.ü",
	"orders.eu.created", "orders.*.created", "a.b.", ".a.b",
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkValidatorsAgree checks the invariants shared by all validators.
func checkValidatorsAgree(t *testing.T, p string) (pubErr, patErr error) {
	pubErr, patErr = ValidatePublish(p), ValidatePattern(p)
	if a, b := errText(pubErr), errText(ValidatePublishBytes([]byte(p))); a != b {
		t.Fatalf("ValidatePublish(%q) = %q but bytes version = %q", p, a, b)
	}
	if a, b := errText(patErr), errText(ValidatePatternBytes([]byte(p))); a != b {
		t.Fatalf("ValidatePattern(%q) = %q but bytes version = %q", p, a, b)
	}
	for _, err := range []error{pubErr, patErr} {
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not match ErrInvalid", err)
		}
	}
	return pubErr, patErr
}

func FuzzValidatePattern(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		pubErr, patErr := checkValidatorsAgree(t, p)
		if pubErr == nil {
			if patErr != nil || !IsLiteral(p) || !Match(p, p) {
				t.Fatalf("valid subject %q: pattern err %v, literal %v, self-match %v",
					p, patErr, IsLiteral(p), Match(p, p))
			}
		}
		if patErr != nil {
			if err := NewIndex[int]().Insert(p, 1); err == nil {
				t.Fatalf("Insert accepted invalid pattern %q", p)
			}
			return
		}
		if IsLiteral(p) != (pubErr == nil) {
			t.Fatalf("valid pattern %q: literal %v but publish error %v", p, IsLiteral(p), pubErr)
		}
		x := NewIndex[int]()
		if err := x.Insert(p, 1); err != nil {
			t.Fatalf("Insert(%q) = %v after ValidatePattern accepted it", p, err)
		}
		if got := x.Patterns(); len(got) != 1 || got[0] != p {
			t.Fatalf("Patterns() = %q, want [%q]", got, p)
		}
		if !x.Remove(p, 1) || x.Len() != 0 || !x.root.empty() {
			t.Fatalf("Remove(%q) did not leave an empty index", p)
		}
	})
}

func FuzzMatch(f *testing.F) {
	for i, p := range fuzzSeeds {
		f.Add(p, fuzzSeeds[(i*7+3)%len(fuzzSeeds)])
		f.Add(p, p)
	}
	f.Add("orders.*.created", "orders.eu.created")
	f.Add("orders.>", "orders.eu.created")
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		m := Match(pattern, subject) // must not panic on any input
		checkValidatorsAgree(t, subject)
		if ValidatePublish(subject) == nil && !Match(subject, subject) {
			t.Fatalf("valid subject %q does not match itself", subject)
		}
		if IsLiteral(pattern) && m != (pattern == subject) {
			t.Fatalf("literal %q vs %q: Match = %v", pattern, subject, m)
		}
		if ValidatePattern(pattern) != nil {
			return
		}
		x := NewIndex[int]()
		if err := x.Insert(pattern, 1); err != nil {
			t.Fatal(err)
		}
		for range 2 { // miss, then cache hit
			if got := len(x.Match(subject)) == 1; got != m {
				t.Fatalf("Index{%q}.Match(%q) = %v, Match = %v", pattern, subject, got, m)
			}
			if got := len(x.MatchBytes([]byte(subject))) == 1; got != m {
				t.Fatalf("Index{%q}.MatchBytes(%q) = %v, Match = %v", pattern, subject, got, m)
			}
		}
	})
}
