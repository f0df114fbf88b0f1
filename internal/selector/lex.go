package selector

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokWord           // a run of value characters: a key, a value, "in" or "notin"
	tokEq             // =
	tokEqEq           // ==
	tokNotEq          // !=
	tokBang           // !
	tokComma          // ,
	tokLParen         // (
	tokRParen         // )
	tokBad            // any other character
)

// token is one lexical token; in[pos:end] is its text.
type token struct {
	kind     tokKind
	pos, end int
	text     string
}

// describe names t for error messages: "end of selector", "','", "\"abc\"".
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of selector"
	case tokWord:
		return strconv.Quote(t.text)
	}
	return quoteChar(t.text)
}

// quoteChar quotes one character as 'c' (or '\x80' for an invalid byte).
func quoteChar(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return "'" + strings.Trim(strconv.Quote(s[:1]), `"`) + "'"
	}
	return strconv.QuoteRune(r)
}

// lexer splits a selector into tokens, skipping whitespace between them.
type lexer struct {
	in  string
	pos int
}

// next returns the next token; at the end it returns tokEOF repeatedly.
func (l *lexer) next() token {
	for l.pos < len(l.in) && isSpace(l.in[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start == len(l.in) {
		return token{kind: tokEOF, pos: start, end: start}
	}
	kind, n := l.classify()
	if kind == tokWord {
		for n = 1; start+n < len(l.in) && isValueChar(l.in[start+n]); n++ {
		}
	}
	l.pos += n
	return token{kind: kind, pos: start, end: l.pos, text: l.in[start:l.pos]}
}

// classify returns the kind and byte width of the token at l.pos.
func (l *lexer) classify() (tokKind, int) {
	c := l.in[l.pos]
	twoWith := func(second byte) bool {
		return l.pos+1 < len(l.in) && l.in[l.pos+1] == second
	}
	switch {
	case isValueChar(c):
		return tokWord, 1
	case c == '=' && twoWith('='):
		return tokEqEq, 2
	case c == '=':
		return tokEq, 1
	case c == '!' && twoWith('='):
		return tokNotEq, 2
	case c == '!':
		return tokBang, 1
	case c == ',':
		return tokComma, 1
	case c == '(':
		return tokLParen, 1
	case c == ')':
		return tokRParen, 1
	}
	_, n := utf8.DecodeRuneInString(l.in[l.pos:])
	return tokBad, n
}

// isSpace reports whether c is whitespace ignored between tokens.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isKeyChar reports whether c may appear in a key.
func isKeyChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '/'
}

// isValueChar reports whether c may appear in a value: a key character or
// ':' (for IPv6 addresses).
func isValueChar(c byte) bool { return isKeyChar(c) || c == ':' }

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
