package broker

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/wire"
)

// Scope is a bit set naming which sends a subscription receives, shared
// with the wire protocol; the zero Scope means ScopeTopic.
type Scope = wire.Scope

// Subscription scopes.
const (
	ScopeTopic  = wire.ScopeTopic  // plain publishes
	ScopeInbox  = wire.ScopeInbox  // sends targeted at this endpoint
	ScopeGroup  = wire.ScopeGroup  // sends to multicast groups it joined
	ScopeStream = wire.ScopeStream // streams and channels opened to it
)

// Subscription is an endpoint's interest in a subject pattern.
type Subscription struct {
	ep      *Endpoint
	sid     uint64
	pattern string
	group   string
	scope   Scope
	qg      *queueGroup // set when group != "" and scope has ScopeTopic
	ent     *entry      // the topic index entry of a plain topic subscription

	backpressure uint8  // the SUB's backpressure policy (wire values; 0 disconnect)
	limit        uint64 // the SUB's backpressure limit, as sent
}

// SID returns the subscription's ID, chosen by its endpoint.
func (s *Subscription) SID() uint64 { return s.sid }

// Pattern returns the subject pattern.
func (s *Subscription) Pattern() string { return s.pattern }

// entry is one value in the topic index: a plain subscription or a queue
// group standing for all its members.
type entry struct {
	sub   *Subscription
	group *queueGroup
}

type groupKey struct{ pattern, name string }

// queueGroup is the set of subscriptions sharing a group name on one
// pattern. Each message goes to one member, round-robin.
type queueGroup struct {
	key     groupKey
	entry   *entry
	policy  route.Policy
	members atomic.Pointer[[]*Subscription] // replaced whole under Broker.mu
	next    atomic.Uint64
}

// SubSpec describes a subscription.
type SubSpec struct {
	SID     uint64 // chosen by the endpoint, unique among its live subscriptions
	Pattern string
	Group   string       // queue group sharing the messages, or ""
	Scope   Scope        // zero means ScopeTopic
	Policy  route.Policy // how the queue group picks a member; the first member's counts

	// Backpressure and Limit are the SUB's backpressure policy (wire
	// values: 0 disconnect … 4 latest-per-key) and limit. The broker
	// keeps them for stream-scope subscriptions: an acceptor whose
	// subscription drops (2, 3 or 4) is a lossy stream leg (OpenStream).
	Backpressure uint8
	Limit        uint64
}

// Subscribe adds a subscription for ep.
func (b *Broker) Subscribe(ep *Endpoint, spec SubSpec) error {
	sid, pattern, group, scope := spec.SID, spec.Pattern, spec.Group, spec.Scope
	if scope == 0 {
		scope = ScopeTopic
	}
	if !spec.Policy.Valid() {
		return fmt.Errorf("%w: %v", ErrInvalidTarget, spec.Policy)
	}
	if err := b.cfg.Subjects.ValidatePattern(pattern); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	if group != "" {
		if err := b.cfg.Subjects.ValidatePublish(group); err != nil {
			return fmt.Errorf("%w: group name: %w", ErrInvalidSubject, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.endpoints[ep.id] != ep {
		return ErrClosed
	}
	if _, dup := ep.subs[sid]; dup {
		return fmt.Errorf("%w: %d", ErrDuplicateSID, sid)
	}
	if len(ep.subs) >= b.cfg.MaxSubsPerConn {
		return fmt.Errorf("%w: limit is %d per connection", ErrTooManySubs, b.cfg.MaxSubsPerConn)
	}
	s := &Subscription{ep: ep, sid: sid, pattern: pattern, group: group, scope: scope,
		backpressure: spec.Backpressure, limit: spec.Limit}
	ep.subs[sid] = s
	if scope&ScopeTopic != 0 {
		b.addTopicLocked(s, spec.Policy)
	}
	if scope&^ScopeTopic != 0 {
		b.setScopedLocked(ep)
	}
	b.stats.subscriptions.Add(1)
	return nil
}

// Unsubscribe removes ep's subscription sid.
func (b *Broker) Unsubscribe(ep *Endpoint, sid uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := ep.subs[sid]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownSID, sid)
	}
	delete(ep.subs, sid)
	b.removeSubLocked(s)
	if s.scope&^ScopeTopic != 0 {
		b.setScopedLocked(ep)
	}
	return nil
}

func (b *Broker) addTopicLocked(s *Subscription, policy route.Policy) {
	if s.group == "" {
		s.ent = &entry{sub: s}
		_ = b.topic.Insert(s.pattern, s.ent) // pattern validated by caller
		return
	}
	key := groupKey{s.pattern, s.group}
	qg := b.groups[key]
	if qg == nil {
		qg = &queueGroup{key: key, policy: policy}
		qg.entry = &entry{group: qg}
		b.groups[key] = qg
		_ = b.topic.Insert(s.pattern, qg.entry)
	}
	var members []*Subscription
	if old := qg.members.Load(); old != nil {
		members = slices.Clone(*old)
	}
	members = append(members, s)
	qg.members.Store(&members)
	s.qg = qg
}

// removeSubLocked takes s out of the topic index and its queue group; the
// caller removes it from ep.subs (or drops the whole map).
func (b *Broker) removeSubLocked(s *Subscription) {
	b.stats.subscriptions.Add(-1)
	if s.scope&ScopeTopic == 0 {
		return
	}
	if s.qg == nil {
		b.topic.Remove(s.pattern, s.ent)
		return
	}
	qg := s.qg
	members := slices.DeleteFunc(slices.Clone(*qg.members.Load()), func(m *Subscription) bool { return m == s })
	if len(members) == 0 {
		delete(b.groups, qg.key)
		b.topic.Remove(qg.key.pattern, qg.entry)
		qg.members.Store(nil)
		return
	}
	qg.members.Store(&members)
}

// setScopedLocked rebuilds ep's inbox, group and stream scope lists from
// ep.subs, in SID order. Only subscriptions with those scopes call it, and
// endpoints hold few of them; topic subscriptions, which may number many
// thousands per connection, never do.
func (b *Broker) setScopedLocked(ep *Endpoint) {
	var inbox, group, streams []*Subscription
	for _, s := range ep.subs {
		if s.scope&ScopeInbox != 0 {
			inbox = append(inbox, s)
		}
		if s.scope&ScopeGroup != 0 {
			group = append(group, s)
		}
		if s.scope&ScopeStream != 0 {
			streams = append(streams, s)
		}
	}
	bySID := func(a, b *Subscription) int { return cmpUint(a.sid, b.sid) }
	slices.SortFunc(inbox, bySID)
	slices.SortFunc(group, bySID)
	slices.SortFunc(streams, bySID)
	ep.inbox.Store(&inbox)
	ep.groupS.Store(&group)
	ep.streamS.Store(&streams)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
