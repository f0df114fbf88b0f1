package ferry

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/ferrymq/ferry/internal/wire"
)

// Scope says which kinds of sends a subscription receives (a bit set;
// docs/patterns.md "Targets and scopes").
type Scope uint8

// Subscription scopes; combine them with |, e.g. ScopeTopic|ScopeInbox.
// The values are the wire protocol's SUB scope bits.
const (
	ScopeTopic Scope = 1 // plain publishes to the subject (Subscribe)
	ScopeInbox Scope = 2 // sends targeted at this endpoint: unicast, broadcast, multicast by selector, anycast (Handle)
	ScopeGroup Scope = 4 // sends to multicast groups this endpoint joined (HandleGroup)
	// ScopeStream accepts streams and channels. It is the scope of
	// HandleStreams, ListenStreams and Listen, which give the streams
	// somewhere to go; WithScope refuses it.
	ScopeStream Scope = 8

	scopeAll = ScopeTopic | ScopeInbox | ScopeGroup
)

func (s Scope) String() string {
	if s == 0 {
		return "default"
	}
	out := ""
	for _, n := range []struct {
		bit  Scope
		name string
	}{{ScopeTopic, "topic"}, {ScopeInbox, "inbox"}, {ScopeGroup, "group"}, {ScopeStream, "stream"}} {
		if s&n.bit != 0 {
			if out != "" {
				out += "|"
			}
			out += n.name
		}
	}
	if rest := s &^ (scopeAll | ScopeStream); rest != 0 {
		if out != "" {
			out += "|"
		}
		out += fmt.Sprintf("scope(%d)", uint8(rest))
	}
	return out
}

// WithScope sets which kinds of sends the subscription receives, replacing
// the call's default (Subscribe: topic; Handle: inbox; HandleGroup: group;
// Respond: topic|inbox). Zero keeps the default.
func WithScope(s Scope) SubOption {
	return func(o *subOptions) { o.scope, o.scopeSet = uint8(s), true }
}

// WithPolicy sets how a queue group (InGroup) picks the member that gets
// each message: RoundRobin (the default), Nearest (to the publisher),
// LeastLoaded, Random or Hash (by subject). The first member's policy is the
// group's.
func WithPolicy(p Policy) SubOption { return func(o *subOptions) { o.policy = uint8(p) } }

// check reports options the server would refuse.
func (so *subOptions) check() error {
	if Scope(so.scope)&ScopeStream != 0 {
		return fmt.Errorf("%w: stream scope; accept streams with HandleStreams, ListenStreams or Listen", ErrBadSubscription)
	}
	if Scope(so.scope)&^scopeAll != 0 {
		return fmt.Errorf("%w: unknown scope bits %#x", ErrBadSubscription, so.scope)
	}
	if !Policy(so.policy).valid() {
		return fmt.Errorf("%w: unknown policy %v", ErrBadSubscription, Policy(so.policy))
	}
	if !so.backpressure.valid() {
		return fmt.Errorf("%w: unknown %v", ErrBadSubscription, so.backpressure)
	}
	if so.limit < 0 {
		return fmt.Errorf("%w: negative backpressure limit %d", ErrBadSubscription, so.limit)
	}
	return nil
}

func (p Policy) valid() bool { return int(p) < len(policyNames) }

// HandleGroup calls fn for messages sent to the multicast groups this
// endpoint joined (group scope: Multicast(group) and anycast with Group) on
// subjects matching pattern. The group is named by the sender's target, not
// by the pattern: HandleGroup(">") takes every group message. Join the
// groups with Join.
func (c *Conn) HandleGroup(pattern string, fn func(*Msg), opts ...SubOption) (*Subscription, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadSubscription)
	}
	return c.subscribe(pattern, buildSubOptions(opts, wire.ScopeGroup), fn, nil)
}

// Scope returns the kinds of sends the subscription receives.
func (s *Subscription) Scope() Scope { return Scope(s.scope.Normalize()) }

// wireTarget converts t for the wire, checking what the client can: a
// unicast needs an ID, a multicast a group or a selector, an anycast a
// known policy; a plain publish carries nothing else.
func wireTarget(t *Target) (wire.Target, error) {
	switch t.mode {
	case ModePublish:
		if t.to != "" || t.where != "" || t.key != "" || t.hasNear || t.attempt != 0 {
			return wire.Target{}, fmt.Errorf("%w: a plain publish takes no group, selector, key, point or timeout; use Broadcast, Multicast, MulticastWhere or Anycast", ErrInvalidTarget)
		}
		return wire.Target{}, nil
	case ModeUnicast:
		if t.to == "" {
			return wire.Target{}, fmt.Errorf("%w: empty endpoint ID", ErrInvalidTarget)
		}
	case ModeBroadcast:
		if t.to != "" {
			return wire.Target{}, fmt.Errorf("%w: broadcast takes no group; use Multicast(%q)", ErrInvalidTarget, t.to)
		}
	case ModeMulticast:
		if t.to == "" && t.where == "" {
			return wire.Target{}, fmt.Errorf("%w: multicast needs a group or a selector", ErrInvalidTarget)
		}
	case ModeAnycast:
		if !t.policy.valid() {
			return wire.Target{}, fmt.Errorf("%w: unknown anycast %v", ErrInvalidTarget, t.policy)
		}
	default:
		return wire.Target{}, fmt.Errorf("%w: %v", ErrInvalidTarget, t.mode)
	}
	if t.to != "" && t.mode != ModeUnicast {
		if err := checkGroup(t.to); err != nil {
			return wire.Target{}, err
		}
	}
	if t.hasNear {
		if err := checkLocation(t.lat, t.lon); err != nil {
			return wire.Target{}, fmt.Errorf("%w: near: %w", ErrInvalidTarget, err)
		}
	}
	if t.attempt < 0 {
		return wire.Target{}, fmt.Errorf("%w: negative attempt timeout %v", ErrInvalidTarget, t.attempt)
	}
	wt := wire.Target{
		Mode: wire.Mode(t.mode), Policy: uint8(t.policy),
		HasNear: t.hasNear, Lat: t.lat, Lon: t.lon,
		TimeoutMillis: uint64((t.attempt + time.Millisecond - 1) / time.Millisecond),
	}
	wt.To, wt.Where, wt.Key = readOnlyBytes(t.to), readOnlyBytes(t.where), readOnlyBytes(t.key)
	return wt, nil
}

// readOnlyBytes returns s's bytes without copying, so that a send does not
// allocate; the frame encoders only read them.
func readOnlyBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
