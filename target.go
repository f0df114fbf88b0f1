package ferry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy chooses one receiver among anycast candidates (docs/patterns.md).
type Policy uint8

// Anycast policies; the values are the wire protocol's.
const (
	RoundRobin  Policy = 0 // rotate through the candidates
	Nearest     Policy = 1 // great-circle distance from the sender (or Near), then region, then load
	LeastLoaded Policy = 2 // fewest bytes queued in the broker for the receiver
	Random      Policy = 3 // uniformly at random
	Hash        Policy = 4 // sticky: the same Key goes to the same receiver while it lives
)

var policyNames = [...]string{"round-robin", "nearest", "least-loaded", "random", "hash"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy parses a policy name: round-robin, nearest, least-loaded,
// random or hash.
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if s == n {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown policy %q (want one of %s)", ErrInvalidTarget, s, strings.Join(policyNames[:], ", "))
}

// Target names who may receive a message: a candidate set and a
// cardinality. The zero Target publishes to the subscribers of the
// message's subject. Targets are values; the modifiers return copies.
type Target struct {
	mode    Mode
	to      string // endpoint ID or group name
	where   string
	policy  Policy
	key     string
	hasNear bool
	lat     float64
	lon     float64
	attempt time.Duration
}

// ToEndpoint targets exactly one endpoint by its ID (unicast). The message
// reaches that endpoint's inbox-scope subscriptions (Handle, Respond) that
// match its subject.
func ToEndpoint(id string) Target { return Target{mode: ModeUnicast, to: id} }

// Broadcast targets every connected endpoint (narrow it with Where), one
// copy each, in inbox scope.
func Broadcast() Target { return Target{mode: ModeBroadcast} }

// Multicast targets every member of the named group (Join), one copy each,
// on their group-scope subscriptions (HandleGroup).
func Multicast(group string) Target { return Target{mode: ModeMulticast, to: group} }

// MulticastWhere targets every endpoint whose labels match the selector
// (docs/selectors.md), one copy each, in inbox scope.
func MulticastWhere(selector string) Target { return Target{mode: ModeMulticast, where: selector} }

// Anycast targets exactly one endpoint chosen by policy among the
// candidates: every endpoint with a matching inbox subscription, narrowed by
// Where, or the members of a group (Group). A request to an anycast target
// fails over to the next-ranked candidate when the chosen one disconnects,
// declines, or misses AttemptTimeout.
func Anycast(policy Policy) Target { return Target{mode: ModeAnycast, policy: policy} }

// Where narrows the candidates of any targeted mode to endpoints whose
// labels match the selector, e.g. "type=edge,region in (eu,us)".
func (t Target) Where(selector string) Target { t.where = selector; return t }

// Group makes an anycast choose among the members of a multicast group.
func (t Target) Group(name string) Target { t.to = name; return t }

// Near makes Nearest measure from this point instead of the sender's
// location.
func (t Target) Near(lat, lon float64) Target { t.hasNear, t.lat, t.lon = true, lat, lon; return t }

// Key sets the Hash policy's key; the default is the subject.
func (t Target) Key(key string) Target { t.key = key; return t }

// AttemptTimeout bounds each attempt of an anycast request: past it the
// next-ranked candidate gets the request (at most 3 attempts in all).
func (t Target) AttemptTimeout(d time.Duration) Target { t.attempt = d; return t }

// Mode returns the routing mode of t.
func (t Target) Mode() Mode { return t.mode }

// String describes t: "subscribers", "@id", "broadcast", "#group",
// "multicast[sel]", "anycast(nearest)[sel]".
func (t Target) String() string {
	var b strings.Builder
	switch t.mode {
	case ModePublish:
		return "subscribers"
	case ModeUnicast:
		b.WriteString("@" + t.to)
	case ModeBroadcast:
		b.WriteString("broadcast")
	case ModeMulticast:
		b.WriteString("multicast")
		if t.to != "" {
			b.WriteString(" #" + t.to)
		}
	case ModeAnycast:
		b.WriteString("anycast(" + t.policy.String() + ")")
		if t.to != "" {
			b.WriteString(" #" + t.to)
		}
		if t.hasNear {
			b.WriteString(" near " + strconv.FormatFloat(t.lat, 'f', -1, 64) + "," + strconv.FormatFloat(t.lon, 'f', -1, 64))
		}
	}
	if t.where != "" {
		b.WriteString("[" + t.where + "]")
	}
	return b.String()
}
