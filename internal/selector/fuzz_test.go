package selector

import (
	"errors"
	"testing"
)

var parseSeeds = []string{
	"", " ", "a", "!a", "! a", "a=b", "a==b", "a!=b", "a=", "a!=", "a= ,b",
	"a in (b)", "a in (b,c)", "a notin (b,c)", "a in(b)", "in in (in)", "notin",
	"type=camera,subnet=10.0.1.0/24", "region in (eu,us),version!=1,tier,!draining",
	"subnet=2001:db8::/32", "ip in (10.0.0.0/8,fd00::/8,lab)", "addr=::ffff:10.0.1.0/120",
	"subnet=10.0.1.0/33", "subnet=10.0.1.17/24", "subnet=10.0.1/24", "team=infra/core",
	"a,,b", "a,", ",a", "=a", "!", "!a=b", "a in ()", "a in (", "a in (b,", "a in (b,)",
	"a IN (b)", "a b", "a$b", "a=*", "a===b", "é=1", "a=\x80", " a = 1 ,\tb != 2 ",
	"app.kubernetes.io/name=x", "k=-a_b.c/d:e", "1k=v", "a,b,c,d,e,f",
}

// fuzzLabels are the fixed label sets a selector and its canonical
// reparse must agree on.
var fuzzLabels = []Map{
	nil,
	{"a": "", "b": "b", "in": "in"},
	{"a": "b", "type": "camera", "ip": "10.0.1.17", "region": "eu", "tier": "gold"},
	{"subnet": "10.0.1.0/24", "ip": "fd00::1", "addr": "::ffff:10.0.1.17", "version": "1"},
	{"a": "10.0.1.0/24", "b": "2001:db8::5", "k": "-a_b.c/d:e", "team": "infra/core"},
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || se.Pos < 0 || se.Pos > len(in) {
				t.Fatalf("Parse(%q) error %v (%T) is not a SyntaxError within the input", in, err, err)
			}
			return
		}
		canon := s.String()
		s2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", in, canon, err)
		}
		if got := s2.String(); got != canon {
			t.Fatalf("String not a fixpoint: %q -> %q -> %q", in, canon, got)
		}
		if s.Empty() != (canon == "") || len(s.Requirements()) != len(s2.Requirements()) {
			t.Fatalf("Parse(%q): Empty %v, String %q", in, s.Empty(), canon)
		}
		for _, l := range fuzzLabels {
			if a, b := s.Matches(l), s2.Matches(l); a != b {
				t.Fatalf("%q.Matches(%v) = %v but canonical %q gives %v", in, l, a, canon, b)
			}
		}
	})
}
