package route

import (
	"fmt"
	"strings"
)

// Policy chooses one receiver among anycast candidates.
type Policy uint8

// Anycast policies. The zero value is RoundRobin.
const (
	RoundRobin  Policy = 0 // rotate through the candidates in ID order
	Nearest     Policy = 1 // great-circle distance from the sender, then region, then load
	LeastLoaded Policy = 2 // fewest pending bytes, then fewest pending messages
	Random      Policy = 3 // uniformly at random
	Hash        Policy = 4 // sticky by key: rendezvous hashing of key and endpoint ID
	maxPolicy          = Hash
)

var policyNames = [...]string{"round-robin", "nearest", "least-loaded", "random", "hash"}

func (p Policy) String() string {
	if p <= maxPolicy {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool { return p <= maxPolicy }

// ErrUnknownPolicy reports a policy name or value that is not one of the
// policies.
var ErrUnknownPolicy = fmt.Errorf("route: unknown policy (want one of %s)", strings.Join(policyNames[:], ", "))

// ParsePolicy parses a policy name such as "nearest". The empty string is
// RoundRobin.
func ParsePolicy(s string) (Policy, error) {
	if s == "" {
		return RoundRobin, nil
	}
	for i, n := range policyNames {
		if s == n {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownPolicy, s)
}
