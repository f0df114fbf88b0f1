package subject

// Default limits, used when the corresponding Limits field is zero.
const (
	DefaultMaxBytes  = 256
	DefaultMaxTokens = 32
)

// Limits bounds subjects and patterns. A zero (or negative) field means the
// default: MaxBytes 256, MaxTokens 32. The zero value is ready to use.
type Limits struct {
	MaxBytes  int // maximum length in bytes
	MaxTokens int // maximum number of dot-separated tokens
}

func (l Limits) maxBytes() int {
	if l.MaxBytes > 0 {
		return l.MaxBytes
	}
	return DefaultMaxBytes
}

func (l Limits) maxTokens() int {
	if l.MaxTokens > 0 {
		return l.MaxTokens
	}
	return DefaultMaxTokens
}

// ValidatePublish checks that s is a concrete subject (no wildcards).
func (l Limits) ValidatePublish(s string) error { return validate(s, l, false) }

// ValidatePattern checks that p is a valid subscription pattern; "*" and a
// final ">" token are allowed.
func (l Limits) ValidatePattern(p string) error { return validate(p, l, true) }

// ValidatePublishBytes is ValidatePublish for a byte slice. It does not
// allocate when b is valid.
func (l Limits) ValidatePublishBytes(b []byte) error { return validate(b, l, false) }

// ValidatePatternBytes is ValidatePattern for a byte slice. It does not
// allocate when b is valid.
func (l Limits) ValidatePatternBytes(b []byte) error { return validate(b, l, true) }

// ValidatePublish checks s with the default Limits.
func ValidatePublish(s string) error { return validate(s, Limits{}, false) }

// ValidatePattern checks p with the default Limits.
func ValidatePattern(p string) error { return validate(p, Limits{}, true) }

// ValidatePublishBytes is ValidatePublish(string(b)) without the
// conversion: it does not allocate when b is valid.
func ValidatePublishBytes(b []byte) error { return validate(b, Limits{}, false) }

// ValidatePatternBytes is ValidatePattern(string(b)) without the conversion.
func ValidatePatternBytes(b []byte) error { return validate(b, Limits{}, true) }

// Byte classes used by validate.
const (
	clsPlain = iota // ordinary token byte
	clsDot          // token separator
	clsBad          // whitespace or control character
	clsWild         // '*' or '>'
)

// class maps every byte to its class; built once at init.
var class = func() (t [256]uint8) {
	for c := 0; c <= ' '; c++ {
		t[c] = clsBad
	}
	t[0x7f] = clsBad
	t['.'] = clsDot
	t['*'] = clsWild
	t['>'] = clsWild
	return t
}()

// validate is the single implementation behind all Validate functions. It
// walks s once, by index, and only converts or formats on the error path.
func validate[S ~string | ~[]byte](s S, l Limits, pattern bool) error {
	if len(s) == 0 {
		return newError(s, pattern, ErrInvalid, "empty "+noun(pattern))
	}
	if max := l.maxBytes(); len(s) > max {
		return newError(s, pattern, ErrTooLong, limitProblem(pattern, "is", len(s), "bytes", max))
	}
	tokens, start, wild := 1, 0, -1
	for i := 0; i < len(s); i++ {
		switch class[s[i]] {
		case clsPlain:
		case clsDot:
			if kind, p := checkToken(s[start:i], start, wild, false, pattern); kind != nil {
				return newError(s, pattern, kind, p)
			}
			tokens, start, wild = tokens+1, i+1, -1
		case clsBad:
			return newError(s, pattern, ErrInvalid, byteProblem(s[i], i))
		case clsWild:
			if wild < 0 {
				wild = i
			}
		}
	}
	if kind, p := checkToken(s[start:], start, wild, true, pattern); kind != nil {
		return newError(s, pattern, kind, p)
	}
	if max := l.maxTokens(); tokens > max {
		return newError(s, pattern, ErrTooManyTokens, limitProblem(pattern, "has", tokens, "tokens", max))
	}
	return nil
}

// checkToken validates one token starting at byte start; wild is the
// position of its first '*' or '>' (or -1) and last reports whether it is
// the final token. It returns a nil kind when the token is valid.
func checkToken[S ~string | ~[]byte](tok S, start, wild int, last, pattern bool) (kind error, problem string) {
	switch {
	case len(tok) == 0:
		return ErrInvalid, at("empty token", start)
	case wild < 0:
		return nil, ""
	case len(tok) > 1:
		return ErrInvalid, at(quoteByte(tok[wild-start])+" inside token", wild)
	case !pattern:
		return ErrWildcard, at("wildcard "+quoteByte(tok[0]), start)
	case tok[0] == '>' && !last:
		return ErrInvalid, at("wildcard '>' not last token", start)
	}
	return nil, ""
}

func quoteByte(c byte) string { return "'" + string(rune(c)) + "'" }
