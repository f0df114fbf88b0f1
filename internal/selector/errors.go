package selector

import (
	"errors"
	"strconv"
)

// ErrSyntax is matched (via errors.Is) by every error Parse returns.
var ErrSyntax = errors.New("selector: syntax error")

// ErrLimit is matched (via errors.Is) by Parse errors caused by exceeding
// one of the limits MaxLen, MaxRequirements, MaxValues, MaxKeyLen or
// MaxValueLen. Those errors match ErrSyntax too.
var ErrLimit = errors.New("selector: limit exceeded")

// Limits on what Parse accepts.
const (
	MaxLen          = 4096 // bytes of selector text
	MaxRequirements = 64   // comma-separated requirements
	MaxValues       = 64   // values in one in/notin list
	MaxKeyLen       = 63   // bytes of a key
	MaxValueLen     = 255  // bytes of a value
)

// maxQuoted bounds how much of the input SyntaxError.Error quotes.
const maxQuoted = 128

// SyntaxError describes why Parse rejected a selector. It unwraps to
// ErrSyntax, and also matches ErrLimit when a limit was exceeded.
type SyntaxError struct {
	Input string // the whole selector text given to Parse
	Pos   int    // byte offset of the problem in Input, counting from 0
	Msg   string // e.g. "expected a key after ','"

	limit bool
}

// Error formats as `selector "a,,b": position 2: expected a key after ','`.
// Input longer than 128 bytes is quoted up to there, followed by "...".
func (e *SyntaxError) Error() string {
	in, more := e.Input, ""
	if len(in) > maxQuoted {
		in, more = in[:maxQuoted], "..."
	}
	return "selector " + strconv.Quote(in) + more + ": position " + strconv.Itoa(e.Pos) + ": " + e.Msg
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Is reports whether target is ErrLimit and e was caused by a limit.
func (e *SyntaxError) Is(target error) bool { return e.limit && target == ErrLimit }

// limitMsg formats e.g. "key is 70 bytes, limit is 63".
func limitMsg(what string, n int, unit string, limit int) string {
	return what + " is " + strconv.Itoa(n) + " " + unit + ", limit is " + strconv.Itoa(limit)
}
