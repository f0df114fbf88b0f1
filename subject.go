package ferry

import "fmt"

// checkSubject is the client's cheap subject check: non-empty, no empty
// tokens, no spaces or control characters, and '*' and '>' only as whole
// tokens ('>' last) in patterns and never in publish subjects. Length
// limits are the server's to enforce. It does not allocate when s is valid.
func checkSubject(s string, pattern bool) error {
	if s == "" {
		return fmt.Errorf("%w: empty subject", ErrInvalidSubject)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; c <= ' ' || c == 0x7f {
				return fmt.Errorf("%w: %q: byte %#x at %d", ErrInvalidSubject, s, c, i)
			}
			continue
		}
		if err := checkToken(s, s[start:i], pattern, i == len(s)); err != nil {
			return err
		}
		start = i + 1
	}
	return nil
}

// checkToken checks one token of s; last reports whether it is the final one.
func checkToken(s, tok string, pattern, last bool) error {
	switch {
	case tok == "":
		return fmt.Errorf("%w: %q: empty token", ErrInvalidSubject, s)
	case tok == "*" || tok == ">":
		if !pattern {
			return fmt.Errorf("%w: %q: wildcard in a publish subject", ErrInvalidSubject, s)
		}
		if tok == ">" && !last {
			return fmt.Errorf("%w: %q: '>' must be the last token", ErrInvalidSubject, s)
		}
	default:
		for i := 0; i < len(tok); i++ {
			if tok[i] == '*' || tok[i] == '>' {
				return fmt.Errorf("%w: %q: wildcard inside a token", ErrInvalidSubject, s)
			}
		}
	}
	return nil
}
