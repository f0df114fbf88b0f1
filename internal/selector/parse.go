package selector

import (
	"net/netip"
	"strconv"
	"strings"
)

// Parse parses a selector written in the language described in the package
// documentation. An empty or all-whitespace s yields the empty Selector,
// which matches everything. Every error is a *SyntaxError matching
// ErrSyntax.
func Parse(s string) (Selector, error) {
	if len(s) > MaxLen {
		return Selector{}, &SyntaxError{Input: s, Pos: MaxLen, limit: true,
			Msg: limitMsg("selector", len(s), "bytes", MaxLen)}
	}
	p := &parser{lex: lexer{in: s}}
	p.advance()
	if p.tok.kind == tokEOF {
		return Selector{}, nil
	}
	reqs := make([]requirement, 0, min(strings.Count(s, ",")+1, MaxRequirements))
	for {
		if len(reqs) == MaxRequirements {
			return Selector{}, p.limitErr(p.tok.pos, "too many requirements: limit is "+strconv.Itoa(MaxRequirements))
		}
		r, err := p.requirement()
		if err != nil {
			return Selector{}, err
		}
		reqs = append(reqs, r)
		switch p.tok.kind {
		case tokEOF:
			return Selector{reqs: reqs}, nil
		case tokComma:
			p.advance()
			if p.tok.kind != tokWord && p.tok.kind != tokBang {
				return Selector{}, p.errAt(p.tok.pos, "expected a key after ','")
			}
		default:
			return Selector{}, p.unexpected("expected ',' or end of selector")
		}
	}
}

// MustParse is like Parse but panics on error. It is meant for tests and
// examples with constant selectors.
func MustParse(s string) Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lex     lexer
	tok     token // the current token, not yet consumed
	prevEnd int   // end offset of the token before tok
}

func (p *parser) advance() {
	p.prevEnd = p.tok.end
	p.tok = p.lex.next()
}

// requirement parses one requirement, leaving p.tok on the token after it.
func (p *parser) requirement() (requirement, error) {
	if p.tok.kind == tokBang {
		return p.absence()
	}
	key, err := p.key()
	if err != nil {
		return requirement{}, err
	}
	switch p.tok.kind {
	case tokEOF, tokComma:
		return requirement{Requirement: Requirement{Key: key, Op: OpExists}}, nil
	case tokEq, tokEqEq:
		return p.single(key, OpEquals)
	case tokNotEq:
		return p.single(key, OpNotEquals)
	case tokWord:
		switch p.tok.text {
		case "in":
			return p.list(key, OpIn)
		case "notin":
			return p.list(key, OpNotIn)
		}
		return requirement{}, p.errAt(p.tok.pos, "unknown operator "+strconv.Quote(p.tok.text)+
			"; operators are =, ==, !=, in, notin")
	}
	return requirement{}, p.unexpected("expected an operator (=, ==, !=, in, notin), ',' or end of selector")
}

// absence parses `!key`.
func (p *parser) absence() (requirement, error) {
	p.advance()
	if p.tok.kind != tokWord {
		return requirement{}, p.unexpected("expected a key after '!'")
	}
	key, err := p.key()
	if err != nil {
		return requirement{}, err
	}
	switch p.tok.kind {
	case tokEq, tokEqEq, tokNotEq, tokWord:
		return requirement{}, p.errAt(p.tok.pos, "'!"+key+"' tests only that label "+key+
			" is absent and takes no operator; write "+key+"!=v or "+key+" notin (...)")
	}
	return requirement{Requirement: Requirement{Key: key, Op: OpNotExists}}, nil
}

// key consumes and validates a key token.
func (p *parser) key() (string, error) {
	t := p.tok
	if t.kind != tokWord {
		return "", p.unexpected("expected a key")
	}
	if !isAlnum(t.text[0]) {
		return "", p.errAt(t.pos, "key "+strconv.Quote(t.text)+" must start with a letter or digit")
	}
	if i := strings.IndexByte(t.text, ':'); i >= 0 { // the one value character keys lack
		return "", p.errAt(t.pos+i, "invalid character "+quoteChar(t.text[i:])+" in key")
	}
	if len(t.text) > MaxKeyLen {
		return "", p.limitErr(t.pos, limitMsg("key", len(t.text), "bytes", MaxKeyLen))
	}
	p.advance()
	return t.text, p.noAdjacentBad("key")
}

// single parses the value after `=`, `==` or `!=`. The value may be empty.
func (p *parser) single(key string, op Op) (requirement, error) {
	p.advance()
	r := requirement{Requirement: Requirement{Key: key, Op: op}}
	if p.tok.kind != tokWord {
		r.Values = []string{""}
		return r, p.noAdjacentBad("value")
	}
	return r, p.value(&r)
}

// list parses `in (v, ...)` or `notin (v, ...)`; p.tok is the keyword.
func (p *parser) list(key string, op Op) (requirement, error) {
	keyword := p.tok.text
	p.advance()
	if p.tok.kind != tokLParen {
		return requirement{}, p.unexpected("expected '(' after '" + keyword + "'")
	}
	open := p.tok.pos
	p.advance()
	if p.tok.kind == tokRParen {
		return requirement{}, p.errAt(p.tok.pos, "empty value list after '"+keyword+"'")
	}
	r := requirement{Requirement: Requirement{Key: key, Op: op}}
	for {
		if err := p.listValue(&r, open); err != nil {
			return requirement{}, err
		}
		switch p.tok.kind {
		case tokRParen:
			p.advance()
			return r, nil
		case tokComma:
			p.advance()
		case tokEOF:
			return requirement{}, p.unclosed(open)
		default:
			return requirement{}, p.unexpected("expected ',' or ')' in value list")
		}
	}
}

// listValue parses one non-empty value of a list opened at offset open.
func (p *parser) listValue(r *requirement, open int) error {
	switch {
	case p.tok.kind == tokEOF:
		return p.unclosed(open)
	case p.tok.kind != tokWord && len(r.Values) > 0:
		return p.errAt(p.tok.pos, "expected a value after ','")
	case p.tok.kind != tokWord:
		return p.unexpected("expected a value")
	case len(r.Values) == MaxValues:
		return p.limitErr(p.tok.pos, "too many values in list: limit is "+strconv.Itoa(MaxValues))
	}
	return p.value(r)
}

// value consumes the word token p.tok as a value of r.
func (p *parser) value(r *requirement) error {
	t := p.tok
	if len(t.text) > MaxValueLen {
		return p.limitErr(t.pos, limitMsg("value", len(t.text), "bytes", MaxValueLen))
	}
	prefix, isCIDR, problem := cidrValue(t.text)
	if problem != "" {
		return p.errAt(t.pos, problem)
	}
	if isCIDR && r.prefixes == nil {
		r.prefixes = make([]netip.Prefix, len(r.Values), len(r.Values)+1)
	}
	r.Values = append(r.Values, t.text)
	if r.prefixes != nil {
		r.prefixes = append(r.prefixes, prefix)
	}
	r.subnetIP = r.prefixes != nil && r.Key == "subnet"
	p.advance()
	return p.noAdjacentBad("value")
}

// noAdjacentBad reports a bad character directly after the key or value
// just consumed as part of it ("a*b" is a bad value, not two tokens).
func (p *parser) noAdjacentBad(what string) error {
	if p.tok.kind == tokBad && p.tok.pos == p.prevEnd {
		return p.errAt(p.tok.pos, "invalid character "+p.tok.describe()+" in "+what)
	}
	return nil
}

func (p *parser) unclosed(open int) error {
	return p.errAt(p.tok.pos, "missing ')' to close '(' at position "+strconv.Itoa(open))
}

// unexpected reports p.tok where msg's expectation failed.
func (p *parser) unexpected(msg string) error {
	return p.errAt(p.tok.pos, msg+", found "+p.tok.describe())
}

func (p *parser) errAt(pos int, msg string) error {
	return &SyntaxError{Input: p.lex.in, Pos: pos, Msg: msg}
}

func (p *parser) limitErr(pos int, msg string) error {
	return &SyntaxError{Input: p.lex.in, Pos: pos, Msg: msg, limit: true}
}
