package selector

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Labels is what a selector is matched against: an endpoint's key=value
// labels.
type Labels interface {
	// Get returns the value of label key and whether the label is present.
	Get(key string) (string, bool)
}

// Map is a Labels backed by a Go map. A nil Map has no labels.
type Map map[string]string

// Get returns m[k] and whether k is present.
func (m Map) Get(k string) (string, bool) {
	v, ok := m[k]
	return v, ok
}

// Op is the operator of a Requirement.
type Op uint8

// Operators, in the order of the grammar in the package documentation.
const (
	OpEquals    Op = iota + 1 // k=v (also written k==v)
	OpNotEquals               // k!=v
	OpIn                      // k in (a,b)
	OpNotIn                   // k notin (a,b)
	OpExists                  // k
	OpNotExists               // !k
)

// String returns the operator as written in a selector: "=", "!=", "in",
// "notin"; OpExists and OpNotExists, which have no infix form, are
// "exists" and "!exists".
func (o Op) String() string {
	switch o {
	case OpEquals:
		return "="
	case OpNotEquals:
		return "!="
	case OpIn:
		return "in"
	case OpNotIn:
		return "notin"
	case OpExists:
		return "exists"
	case OpNotExists:
		return "!exists"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Requirement is one comma-separated term of a selector. Values holds one
// value for OpEquals and OpNotEquals, one or more for OpIn and OpNotIn, and
// none for OpExists and OpNotExists. Values are the text as written; CIDR
// prefixes among them are matched as described in the package
// documentation.
type Requirement struct {
	Key    string
	Op     Op
	Values []string
}

// String returns the requirement in canonical form: `k=v`, `k!=v`,
// `k in (a,b)`, `k notin (a,b)`, `k` or `!k`.
func (r Requirement) String() string {
	var b strings.Builder
	r.write(&b)
	return b.String()
}

func (r Requirement) write(b *strings.Builder) {
	switch r.Op {
	case OpExists:
		b.WriteString(r.Key)
	case OpNotExists:
		b.WriteByte('!')
		b.WriteString(r.Key)
	case OpEquals, OpNotEquals:
		b.WriteString(r.Key)
		b.WriteString(r.Op.String())
		if len(r.Values) > 0 {
			b.WriteString(r.Values[0])
		}
	default: // OpIn, OpNotIn
		b.WriteString(r.Key)
		b.WriteByte(' ')
		b.WriteString(r.Op.String())
		b.WriteString(" (")
		b.WriteString(strings.Join(r.Values, ","))
		b.WriteByte(')')
	}
}

// requirement is a parsed Requirement plus what Matches needs precomputed.
type requirement struct {
	Requirement
	// prefixes is parallel to Values: the parsed prefix of each CIDR value,
	// the zero (invalid, contains nothing) Prefix for a literal value. It
	// is nil when no value is a CIDR prefix.
	prefixes []netip.Prefix
	// subnetIP is set when Key is "subnet" and some value is a CIDR prefix:
	// the endpoint's "ip" label is then tested against the prefixes too.
	subnetIP bool
}

// Selector is a parsed label selector: a conjunction of requirements.
// A Selector is immutable and safe for concurrent use. The zero value, like
// the parse of an empty string, has no requirements and matches everything.
type Selector struct {
	reqs []requirement
}

// Empty reports whether s has no requirements and so matches everything.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Matches reports whether labels l satisfy every requirement of s. A nil l
// is treated as no labels. Matches does not allocate when l.Get does not.
func (s Selector) Matches(l Labels) bool {
	if l == nil {
		l = Map(nil)
	}
	for i := range s.reqs {
		if !s.reqs[i].matches(l) {
			return false
		}
	}
	return true
}

func (r *requirement) matches(l Labels) bool {
	switch r.Op {
	case OpExists:
		_, ok := l.Get(r.Key)
		return ok
	case OpNotExists:
		_, ok := l.Get(r.Key)
		return !ok
	case OpEquals, OpIn:
		return r.matchesAny(l)
	case OpNotEquals, OpNotIn:
		return !r.matchesAny(l)
	}
	return false
}

// matchesAny reports whether l satisfies Key=v for some v in Values,
// applying the CIDR rule to prefix values.
func (r *requirement) matchesAny(l Labels) bool {
	if v, ok := l.Get(r.Key); ok {
		for _, want := range r.Values {
			if v == want {
				return true
			}
		}
		if r.prefixes != nil && anyContains(r.prefixes, v) {
			return true
		}
	}
	if r.subnetIP {
		if ip, ok := l.Get("ip"); ok && anyContains(r.prefixes, ip) {
			return true
		}
	}
	return false
}

// String returns s in canonical form: the requirements in the order given,
// each in Requirement.String form, joined by ",". Parsing the result yields
// an equivalent selector with the same String. The zero Selector is "".
func (s Selector) String() string {
	var b strings.Builder
	for i := range s.reqs {
		if i > 0 {
			b.WriteByte(',')
		}
		s.reqs[i].write(&b)
	}
	return b.String()
}

// Requirements returns a copy of s's requirements in the order given.
func (s Selector) Requirements() []Requirement {
	out := make([]Requirement, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = r.Requirement
		out[i].Values = slices.Clone(r.Values)
	}
	return out
}
