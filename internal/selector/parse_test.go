package selector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only whitespace", " \t\r\n ", ""},
		{"equals", "type=camera", "type=camera"},
		{"double equals", "type==camera", "type=camera"},
		{"not equals", "version!=1", "version!=1"},
		{"in", "region in (eu,us)", "region in (eu,us)"},
		{"in single", "region in (eu)", "region in (eu)"},
		{"notin", "region notin (eu,us)", "region notin (eu,us)"},
		{"in without space before paren", "region in(eu)", "region in (eu)"},
		{"exists", "tier", "tier"},
		{"not exists", "!tier", "!tier"},
		{"not exists spaced", "! tier", "!tier"},
		{"empty value", "k=", "k="},
		{"empty value spaced", "k = ,x", "k=,x"},
		{"empty not equals", "k!=", "k!="},
		{"whitespace everywhere", " a = 1 ,\tb != 2 , c in ( x , y ) ,d notin(z), e ,! f ",
			"a=1,b!=2,c in (x,y),d notin (z),e,!f"},
		{"order kept", "z,a=1,m", "z,a=1,m"},
		{"duplicate keys", "a=1,a=2", "a=1,a=2"},
		{"key charset", "app.kubernetes.io/name-x_1=v", "app.kubernetes.io/name-x_1=v"},
		{"key starts with digit", "1k=v", "1k=v"},
		{"key named in", "in in (in)", "in in (in)"},
		{"key named notin", "notin", "notin"},
		{"value charset", "k=-a_b.c/d:e", "k=-a_b.c/d:e"},
		{"value leading dot", "k=.x", "k=.x"},
		{"literal with slash", "team=infra/core", "team=infra/core"},
		{"digits slash no dot", "date=2024/01", "date=2024/01"},
		{"dot slash literal", "path=./bin", "path=./bin"},
		{"ipv4 address literal", "ip=10.0.1.17", "ip=10.0.1.17"},
		{"cidr v4", "subnet=10.0.1.0/24", "subnet=10.0.1.0/24"},
		{"cidr v6", "subnet=2001:db8::/32", "subnet=2001:db8::/32"},
		{"cidr v6 upper kept", "subnet=2001:DB8::/32", "subnet=2001:DB8::/32"},
		{"cidr zero", "ip!=0.0.0.0/0", "ip!=0.0.0.0/0"},
		{"cidr in list", "subnet in (10.0.1.0/24,lab,fd00::/8)", "subnet in (10.0.1.0/24,lab,fd00::/8)"},
		{"mapped cidr", "ip=::ffff:10.0.1.0/120", "ip=::ffff:10.0.1.0/120"},
		{"design example", "type=camera,subnet=10.0.1.0/24", "type=camera,subnet=10.0.1.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			if s.Empty() != (tt.want == "") {
				t.Errorf("Parse(%q).Empty() = %v", tt.in, s.Empty())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		pos  int
		msg  string // substring of the message
	}{
		{"missing key", "=v", 0, "expected a key, found '='"},
		{"leading comma", ",a", 0, "expected a key, found ','"},
		{"missing key after comma", "type=a,=b", 7, "expected a key after ','"},
		{"trailing comma", "a=1,", 4, "expected a key after ','"},
		{"double comma", "a,,b", 2, "expected a key after ','"},
		{"key bad start", "-a=1", 0, `key "-a" must start with a letter or digit`},
		{"key bad char", "a$b=1", 1, "invalid character '$' in key"},
		{"key colon", "a:b=1", 1, "invalid character ':' in key"},
		{"key non-ascii", "é=1", 0, "expected a key, found 'é'"},
		{"value bad char", "k=a*b", 3, "invalid character '*' in value"},
		{"value wildcard", "k=*", 2, "invalid character '*' in value"},
		{"value non-ascii", "k=ü", 2, "invalid character 'ü' in value"},
		{"value invalid utf-8", "k=a\x80", 3, `invalid character '\x80' in value`},
		{"value then junk", "k=a b", 4, `expected ',' or end of selector, found "b"`},
		{"two keys", "a b", 2, `unknown operator "b"`},
		{"uppercase IN", "k IN (a)", 2, `unknown operator "IN"`},
		{"bang after key", "k!", 1, "expected an operator"},
		{"paren after key", "k(a)", 1, "expected an operator (=, ==, !=, in, notin), ',' or end of selector, found '('"},
		{"missing paren after in", "k in a", 5, `expected '(' after 'in', found "a"`},
		{"missing value after in", "k in", 4, "expected '(' after 'in', found end of selector"},
		{"missing value after notin", "k notin ,a", 8, "expected '(' after 'notin', found ','"},
		{"empty list", "k in ()", 6, "empty value list after 'in'"},
		{"empty list spaced", "k notin ( )", 10, "empty value list after 'notin'"},
		{"unclosed paren", "k in (a,b", 9, "missing ')' to close '(' at position 5"},
		{"unclosed paren after open", "k in (", 6, "missing ')' to close '(' at position 5"},
		{"unclosed paren after comma", "k in (a,", 8, "missing ')' to close '(' at position 5"},
		{"list trailing comma", "k in (a,)", 8, "expected a value after ','"},
		{"list double comma", "k in (a,,b)", 8, "expected a value after ','"},
		{"list leading comma", "k in (,a)", 6, "expected a value, found ','"},
		{"list missing comma", "k in (a b)", 8, `expected ',' or ')' in value list, found "b"`},
		{"list bad char", "k in (a*)", 7, "invalid character '*' in value"},
		{"list empty value via equals", "k in (=)", 6, "expected a value, found '='"},
		{"bang alone", "!", 1, "expected a key after '!', found end of selector"},
		{"bang comma", "!,a", 1, "expected a key after '!', found ','"},
		{"bang bang", "!!a", 1, "expected a key after '!', found '!'"},
		{"bang key equals", "!k=v", 2, "'!k' tests only that label k is absent and takes no operator"},
		{"bang key not equals", "!k!=v", 2, "write k!=v or k notin (...)"},
		{"bang key in", "!k in (a)", 3, "takes no operator"},
		{"stray close paren", "a)", 1, "expected an operator (=, ==, !=, in, notin), ',' or end of selector, found ')'"},
		{"triple equals", "k===v", 3, "expected ',' or end of selector, found '='"},
		{"cidr bad length", "subnet=10.0.1.0/33", 7, `invalid CIDR prefix "10.0.1.0/33": prefix length must be 0..32`},
		{"cidr v6 bad length", "subnet=fd00::/129", 7, `invalid CIDR prefix "fd00::/129": prefix length must be 0..128`},
		{"cidr bad address", "subnet=10.0.1/24", 7, `invalid CIDR prefix "10.0.1/24": bad IP address`},
		{"cidr bad octet", "subnet=10.0.1.256/24", 7, `invalid CIDR prefix "10.0.1.256/24": bad IP address`},
		{"cidr empty length", "subnet=10.0.1.0/", 7, "prefix length must be 0..32"},
		{"cidr two slashes", "subnet=10.0.0.0/8/8", 7, "prefix length must be 0..32"},
		{"cidr host bits", "subnet=10.0.1.17/24", 7, `CIDR prefix "10.0.1.17/24" has host bits set; did you mean 10.0.1.0/24?`},
		{"cidr in list", "subnet in (lab,10.0.1.0/33)", 15, `invalid CIDR prefix "10.0.1.0/33"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParseError(t, tt.in, tt.pos, tt.msg, false) })
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		pos  int
		msg  string
	}{
		{"too long", strings.Repeat("a", MaxLen+1), MaxLen, "selector is 4097 bytes, limit is 4096"},
		{"too many requirements", strings.Repeat("a,", MaxRequirements) + "b", 2 * MaxRequirements,
			"too many requirements: limit is 64"},
		{"too many values", "k in (" + strings.Repeat("v,", MaxValues) + "w)", 6 + 2*MaxValues,
			"too many values in list: limit is 64"},
		{"key too long", strings.Repeat("k", MaxKeyLen+1) + "=v", 0, "key is 64 bytes, limit is 63"},
		{"value too long", "k=" + strings.Repeat("v", MaxValueLen+1), 2, "value is 256 bytes, limit is 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParseError(t, tt.in, tt.pos, tt.msg, true) })
	}
}

// checkParseError checks that Parse(in) fails at pos with a message
// containing msg, and that the error matches ErrLimit exactly when limit.
func checkParseError(t *testing.T, in string, pos int, msg string, limit bool) {
	t.Helper()
	s, err := Parse(in)
	if err == nil {
		t.Fatalf("Parse(%q) = %q, want error", in, s)
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse(%q) error %T is not a *SyntaxError", in, err)
	}
	if !errors.Is(err, ErrSyntax) {
		t.Errorf("error %v does not match ErrSyntax", err)
	}
	if errors.Is(err, ErrLimit) != limit {
		t.Errorf("errors.Is(%v, ErrLimit) = %v, want %v", err, !limit, limit)
	}
	if se.Pos != pos || !strings.Contains(se.Msg, msg) || se.Input != in {
		t.Errorf("Parse(%q) error at %d %q, want at %d containing %q", in, se.Pos, se.Msg, pos, msg)
	}
	if !s.Empty() {
		t.Errorf("Parse(%q) returned a non-empty selector with its error", in)
	}
}

func TestParseAtLimits(t *testing.T) {
	ok := []string{
		strings.Repeat("a,", MaxRequirements-1) + "b",
		"k in (" + strings.Repeat("v,", MaxValues-1) + "w)",
		strings.Repeat("k", MaxKeyLen) + "=" + strings.Repeat("v", MaxValueLen),
		"k=v" + strings.Repeat(" ", MaxLen-3),
	}
	for _, in := range ok {
		if _, err := Parse(in); err != nil {
			t.Errorf("Parse of %d bytes at a limit: %v", len(in), err)
		}
	}
}

func TestSyntaxErrorFormat(t *testing.T) {
	_, err := Parse("a,,b")
	if got, want := err.Error(), `selector "a,,b": position 2: expected a key after ','`; got != want {
		t.Errorf("Error() = %s, want %s", got, want)
	}
	_, err = Parse("k=" + strings.Repeat("x", 150) + "*")
	if got := err.Error(); !strings.Contains(got, `xxx"...: position 152: invalid character '*' in value`) {
		t.Errorf("long input Error() = %s", got)
	}
}

func TestRequirements(t *testing.T) {
	s := MustParse("a=1,b!=2,c in (x,10.0.0.0/8),d notin (y),e,!f")
	want := []Requirement{
		{"a", OpEquals, []string{"1"}},
		{"b", OpNotEquals, []string{"2"}},
		{"c", OpIn, []string{"x", "10.0.0.0/8"}},
		{"d", OpNotIn, []string{"y"}},
		{"e", OpExists, nil},
		{"f", OpNotExists, nil},
	}
	got := s.Requirements()
	if len(got) != len(want) {
		t.Fatalf("Requirements() = %v", got)
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Op != want[i].Op || len(got[i].Values) != len(want[i].Values) ||
			(len(want[i].Values) > 0 && !reflect.DeepEqual(got[i].Values, want[i].Values)) {
			t.Errorf("requirement %d = %+v, want %+v", i, got[i], want[i])
		}
		if str := []string{"a=1", "b!=2", "c in (x,10.0.0.0/8)", "d notin (y)", "e", "!f"}[i]; got[i].String() != str {
			t.Errorf("requirement %d String() = %q, want %q", i, got[i].String(), str)
		}
	}
	got[2].Values[0] = "changed" // a copy: the selector stays immutable
	if s.String() != "a=1,b!=2,c in (x,10.0.0.0/8),d notin (y),e,!f" {
		t.Errorf("mutating Requirements() changed the selector: %s", s)
	}
}

func TestOpString(t *testing.T) {
	want := map[Op]string{OpEquals: "=", OpNotEquals: "!=", OpIn: "in", OpNotIn: "notin",
		OpExists: "exists", OpNotExists: "!exists", 0: "Op(0)", 99: "Op(99)"}
	for op, s := range want {
		if op.String() != s {
			t.Errorf("Op(%d).String() = %q, want %q", op, op.String(), s)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustParse of an invalid selector did not panic")
		}
	}()
	MustParse("a,,b")
}
