package subject

import (
	"errors"
	"strings"
	"testing"
)

type validateCase struct {
	name    string
	in      string
	pattern bool   // validate as a pattern instead of a publish subject
	kind    error  // nil when valid; otherwise the most specific sentinel
	msg     string // substring the error message must contain
}

var validateCases = []validateCase{
	{name: "single token", in: "orders"},
	{name: "three tokens", in: "orders.eu.created"},
	{name: "utf8 and punctuation", in: "ordres.été.#1-a_b"},
	{name: "max bytes", in: strings.Repeat("a", 256)},
	{name: "max tokens", in: strings.Repeat("a.", 31) + "a"},
	{name: "empty", in: "", kind: ErrInvalid, msg: `subject "": empty subject`},
	{name: "leading dot", in: ".a", kind: ErrInvalid, msg: "empty token at byte 0"},
	{name: "trailing dot", in: "a.", kind: ErrInvalid, msg: "empty token at byte 2"},
	{name: "double dot", in: "a..b", kind: ErrInvalid,
		msg: `subject "a..b": empty token at byte 2: subject: invalid subject`},
	{name: "only dot", in: ".", kind: ErrInvalid, msg: "empty token at byte 0"},
	{name: "space", in: "a b", kind: ErrInvalid, msg: "space at byte 1"},
	{name: "tab", in: "a.\tb", kind: ErrInvalid, msg: "tab at byte 2"},
	{name: "CR", in: "a\r", kind: ErrInvalid, msg: "carriage return at byte 1"},
	{name: "LF", in: "\na", kind: ErrInvalid, msg: "line feed at byte 0"},
	{name: "NUL", in: "a\x00", kind: ErrInvalid, msg: "control character 0x00 at byte 1"},
	{name: "DEL", in: "a.b\x7f", kind: ErrInvalid, msg: "control character 0x7f at byte 3"},
	{name: "star in publish", in: "a.*.b", kind: ErrWildcard,
		msg: `subject "a.*.b": wildcard '*' at byte 2: subject: wildcard in publish subject`},
	{name: "gt in publish", in: "a.>", kind: ErrWildcard, msg: "wildcard '>' at byte 2"},
	{name: "star inside token publish", in: "a*", kind: ErrInvalid, msg: "'*' inside token at byte 1"},
	{name: "too long", in: strings.Repeat("a", 300), kind: ErrTooLong,
		msg: "subject is 300 bytes, limit is 256: subject: subject too long"},
	{name: "too many tokens", in: strings.Repeat("a.", 32) + "a", kind: ErrTooManyTokens,
		msg: "subject has 33 tokens, limit is 32"},

	{name: "literal pattern", in: "orders.eu", pattern: true},
	{name: "star pattern", in: "orders.*.created", pattern: true},
	{name: "only star", in: "*", pattern: true},
	{name: "only gt", in: ">", pattern: true},
	{name: "star and gt", in: "*.*.>", pattern: true},
	{name: "empty pattern", in: "", pattern: true, kind: ErrInvalid, msg: `pattern "": empty pattern`},
	{name: "gt not last", in: "a.>.b", pattern: true, kind: ErrInvalid,
		msg: `pattern "a.>.b": wildcard '>' not last token at byte 2`},
	{name: "gt gt", in: ">.>", pattern: true, kind: ErrInvalid, msg: "'>' not last token at byte 0"},
	{name: "star prefix", in: "a.*b", pattern: true, kind: ErrInvalid, msg: "'*' inside token at byte 2"},
	{name: "star suffix", in: "a.b*", pattern: true, kind: ErrInvalid, msg: "'*' inside token at byte 3"},
	{name: "gt inside", in: "a>b.c", pattern: true, kind: ErrInvalid, msg: "'>' inside token at byte 1"},
	{name: "double star", in: "**", pattern: true, kind: ErrInvalid, msg: "'*' inside token at byte 0"},
	{name: "pattern empty token", in: "a.*.", pattern: true, kind: ErrInvalid, msg: "empty token at byte 4"},
	{name: "pattern space", in: "a.* ", pattern: true, kind: ErrInvalid, msg: "space at byte 3"},
	{name: "pattern too long", in: strings.Repeat("*.", 150), pattern: true, kind: ErrTooLong,
		msg: "pattern is 300 bytes, limit is 256"},
	{name: "pattern too many tokens", in: strings.Repeat("*.", 40) + ">", pattern: true,
		kind: ErrTooManyTokens, msg: "pattern has 41 tokens, limit is 32"},
}

func TestValidate(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			if tc.pattern {
				errs = []error{ValidatePattern(tc.in), ValidatePatternBytes([]byte(tc.in))}
			} else {
				errs = []error{ValidatePublish(tc.in), ValidatePublishBytes([]byte(tc.in))}
			}
			for _, err := range errs {
				checkValidateErr(t, tc, err)
			}
		})
	}
}

func checkValidateErr(t *testing.T, tc validateCase, err error) {
	t.Helper()
	if tc.kind == nil {
		if err != nil {
			t.Fatalf("validate(%q) = %v, want nil", tc.in, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("validate(%q) = nil, want %v", tc.in, tc.kind)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, tc.kind) {
		t.Errorf("validate(%q) = %v, want errors.Is %v and ErrInvalid", tc.in, err, tc.kind)
	}
	for _, other := range []error{ErrTooLong, ErrTooManyTokens, ErrWildcard} {
		if other != tc.kind && errors.Is(err, other) {
			t.Errorf("validate(%q) = %v, unexpectedly matches %v", tc.in, err, other)
		}
	}
	if !strings.Contains(err.Error(), tc.msg) {
		t.Errorf("validate(%q) message %q, want it to contain %q", tc.in, err.Error(), tc.msg)
	}
	var e *Error
	if !errors.As(err, &e) || e.Kind != tc.kind || e.Pattern != tc.pattern {
		t.Errorf("validate(%q): errors.As *Error = %+v", tc.in, e)
	}
}

// A valid publish subject is always a valid (literal) pattern.
func TestValidatePublishImpliesPattern(t *testing.T) {
	for _, tc := range validateCases {
		if !tc.pattern && tc.kind == nil {
			if err := ValidatePattern(tc.in); err != nil {
				t.Errorf("ValidatePattern(%q) = %v", tc.in, err)
			}
		}
	}
}

func TestSentinels(t *testing.T) {
	for _, s := range []error{ErrTooLong, ErrTooManyTokens, ErrWildcard} {
		if !errors.Is(s, ErrInvalid) {
			t.Errorf("errors.Is(%v, ErrInvalid) = false", s)
		}
		if errors.Is(ErrInvalid, s) {
			t.Errorf("errors.Is(ErrInvalid, %v) = true", s)
		}
	}
	if errors.Is(ErrTooLong, ErrWildcard) {
		t.Error("ErrTooLong matches ErrWildcard")
	}
}

func TestLimits(t *testing.T) {
	l := Limits{MaxBytes: 8, MaxTokens: 3}
	if err := l.ValidatePublish("ab.cd.ef"); err != nil {
		t.Fatalf("at limits: %v", err)
	}
	err := l.ValidatePublish("abc.def.g")
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "subject is 9 bytes, limit is 8") {
		t.Errorf("too long: %v", err)
	}
	err = l.ValidatePattern("a.b.c.>")
	if !errors.Is(err, ErrTooManyTokens) || !strings.Contains(err.Error(), "pattern has 4 tokens, limit is 3") {
		t.Errorf("too many tokens: %v", err)
	}
	err = l.ValidatePublishBytes([]byte("a.b.c.d"))
	if !errors.Is(err, ErrTooManyTokens) {
		t.Errorf("bytes: %v", err)
	}
	big := Limits{MaxBytes: 1000, MaxTokens: 100}
	if err := big.ValidatePattern(strings.Repeat("a.", 60) + ">"); err != nil {
		t.Errorf("raised limits: %v", err)
	}
	if err := (Limits{MaxBytes: -1}).ValidatePublish(strings.Repeat("a", 257)); !errors.Is(err, ErrTooLong) {
		t.Errorf("negative MaxBytes should mean default: %v", err)
	}
}

// Long inputs are truncated in the error so errors stay small.
func TestErrorTruncatesInput(t *testing.T) {
	err := ValidatePublish(strings.Repeat("x", 100_000))
	var e *Error
	if !errors.As(err, &e) || len(e.Input) != maxQuoted+3 || len(err.Error()) > 200 {
		t.Fatalf("error not truncated: %d bytes: %v", len(err.Error()), err)
	}
}

func TestValidatePublishBytesNoAlloc(t *testing.T) {
	b := []byte("orders.eu.created.2024.some-longer-token")
	var err error
	allocs := testing.AllocsPerRun(1000, func() {
		err = ValidatePublishBytes(b)
		if err == nil {
			err = Limits{MaxBytes: 64}.ValidatePublishBytes(b)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("ValidatePublishBytes allocates %v times per run, want 0", allocs)
	}
}
