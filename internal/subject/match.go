package subject

import "strings"

// nextToken returns the token of s that starts at byte i and the start of
// the following token. When the token is the last one, next is len(s)+1, so
// callers iterate with `for i := 0; i <= len(s); i = next`. Every string,
// including "", has at least one token.
func nextToken(s string, i int) (tok string, next int) {
	j := strings.IndexByte(s[i:], '.')
	if j < 0 {
		return s[i:], len(s) + 1
	}
	return s[i : i+j], i + j + 1
}

// Match reports whether subject matches pattern: a "*" pattern token matches
// any single subject token, a final ">" token matches one or more remaining
// tokens, and any other token must be equal.
//
// Match does not validate its arguments and never allocates; both strings
// are simply split on '.'. For a valid pattern (see ValidatePattern) its
// result is exactly what Index.Match computes. A ">" that is not the last
// pattern token is compared literally.
func Match(pattern, subject string) bool {
	pi, si := 0, 0
	for pi <= len(pattern) {
		if si > len(subject) {
			return false // subject ran out of tokens first
		}
		pt, pnext := nextToken(pattern, pi)
		if pt == ">" && pnext > len(pattern) {
			return true // at least one subject token remains
		}
		st, snext := nextToken(subject, si)
		if pt != "*" && pt != st {
			return false
		}
		pi, si = pnext, snext
	}
	return si > len(subject)
}

// IsLiteral reports whether p contains no wildcard token ("*" or ">"), i.e.
// whether it matches only the subject equal to itself.
func IsLiteral(p string) bool {
	for i := 0; i <= len(p); {
		tok, next := nextToken(p, i)
		if tok == "*" || tok == ">" {
			return false
		}
		i = next
	}
	return true
}
