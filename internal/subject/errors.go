package subject

import (
	"errors"
	"strconv"
)

// ErrInvalid is matched (via errors.Is) by every validation error.
var ErrInvalid = errors.New("subject: invalid subject")

// Specific validation errors. Each also matches ErrInvalid via errors.Is.
var (
	// ErrTooLong reports a subject or pattern longer than Limits.MaxBytes.
	ErrTooLong error = &kindError{"subject: subject too long"}
	// ErrTooManyTokens reports more tokens than Limits.MaxTokens.
	ErrTooManyTokens error = &kindError{"subject: too many tokens"}
	// ErrWildcard reports a "*" or ">" token in a publish subject.
	ErrWildcard error = &kindError{"subject: wildcard in publish subject"}
)

// kindError is a specific sentinel that is also an ErrInvalid.
type kindError struct{ msg string }

func (e *kindError) Error() string { return e.msg }

// Is makes every specific sentinel match ErrInvalid.
func (e *kindError) Is(target error) bool { return target == ErrInvalid }

// maxQuoted bounds how much of the offending input an Error keeps.
const maxQuoted = 64

// Error describes why a subject or pattern is invalid. Its Unwrap method
// returns one of the sentinel errors (ErrInvalid, ErrTooLong, ...).
type Error struct {
	Input   string // offending input, truncated to 64 bytes plus "..."
	Pattern bool   // whether Input was validated as a pattern
	Problem string // e.g. "empty token at byte 2"
	Kind    error  // sentinel; errors.Is(e, Kind) holds
}

// Error formats as `subject "a..b": empty token at byte 2: subject: invalid subject`.
func (e *Error) Error() string {
	return noun(e.Pattern) + " " + strconv.Quote(e.Input) + ": " + e.Problem + ": " + e.Kind.Error()
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

func noun(pattern bool) string {
	if pattern {
		return "pattern"
	}
	return "subject"
}

// newError builds an *Error; it runs only on the error path, so the
// []byte-to-string conversion and formatting never cost the valid path.
func newError[S ~string | ~[]byte](s S, pattern bool, kind error, problem string) error {
	in := string(s)
	if len(s) > maxQuoted {
		in = string(s[:maxQuoted]) + "..."
	}
	return &Error{Input: in, Pattern: pattern, Problem: problem, Kind: kind}
}

// at formats "<what> at byte <i>".
func at(what string, i int) string { return what + " at byte " + strconv.Itoa(i) }

// limitProblem formats e.g. "subject is 300 bytes, limit is 256".
func limitProblem(pattern bool, verb string, n int, unit string, limit int) string {
	return noun(pattern) + " " + verb + " " + strconv.Itoa(n) + " " + unit +
		", limit is " + strconv.Itoa(limit)
}

// byteProblem names a forbidden whitespace or control byte.
func byteProblem(c byte, i int) string {
	switch c {
	case ' ':
		return at("space", i)
	case '\t':
		return at("tab", i)
	case '\r':
		return at("carriage return", i)
	case '\n':
		return at("line feed", i)
	}
	const hex = "0123456789abcdef"
	return at("control character 0x"+string([]byte{hex[c>>4], hex[c&0xf]}), i)
}
