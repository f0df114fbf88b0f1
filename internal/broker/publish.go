package broker

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/subject"
	"github.com/ferrymq/ferry/internal/wire"
)

// Mode is a routing mode. The broker shares the wire protocol's values and
// names so transports pass modes through unchanged.
type Mode = wire.Mode

// Routing modes.
const (
	ModePublish   = wire.ModePublish
	ModeUnicast   = wire.ModeUnicast
	ModeBroadcast = wire.ModeBroadcast
	ModeMulticast = wire.ModeMulticast
	ModeAnycast   = wire.ModeAnycast
)

// Message is a message being routed. Its byte slices belong to the caller
// and are valid only during Publish; sinks copy what they keep.
type Message struct {
	Subject []byte
	Reply   []byte
	From    []byte // sender's endpoint ID
	Mode    Mode
	Headers []byte // encoded header block, opaque to the broker
	Payload []byte
	// Received is when the server read the message, if the transport
	// knows it cheaply; zero makes the broker read its clock when it needs
	// a time (recording a routing decision).
	Received time.Time
}

// Target names who may receive a message: a candidate set and a
// cardinality (docs/patterns.md). The zero Target reaches the topic
// subscriptions matching the subject.
type Target struct {
	Mode    Mode
	To      []byte       // endpoint ID (unicast) or group name (multicast, anycast)
	Where   []byte       // label selector filtering the candidates of any mode
	Policy  route.Policy // anycast policy
	Key     []byte       // hash key for route.Hash; empty means the subject
	HasNear bool         // rank nearest from (Lat, Lon) instead of the sender's location
	Lat     float64
	Lon     float64
	Timeout time.Duration // per-attempt failover deadline for anycast requests
}

// Publish validates m and routes it from ep to t. It returns how many
// receivers it reached (subscriptions for a publish, endpoints for a
// targeted send).
func (b *Broker) Publish(ep *Endpoint, m *Message, t Target) (int, error) {
	n, _, err := b.PublishSeq(ep, m, t)
	return n, err
}

// PublishSeq is Publish that also returns the sequence m got in a durable
// log (Config.Durable), 0 when no log captures it. A plain publish
// (ModePublish) whose subject a log captures is stored first, synchronously
// (an fsync under sync=always blocks the caller: for a transport, that
// connection's publishes), and delivered live only once stored. If storing
// fails, the error (wrapping ErrNotStored) is returned and the message is
// not delivered. A duplicate (its message ID was stored within the log's
// dedupe window) returns the original's sequence and is not delivered
// again: it reached its subscribers the first time.
func (b *Broker) PublishSeq(ep *Endpoint, m *Message, t Target) (int, uint64, error) {
	if err := b.validate(m); err != nil {
		return 0, 0, err
	}
	var seq uint64
	if t.Mode == ModePublish && b.cfg.Durable != nil && b.cfg.Durable.Matches(m.Subject) {
		s, dup, err := b.cfg.Durable.Append(context.Background(), m.Subject, m.Headers, m.Payload)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %w", ErrNotStored, err)
		}
		if dup {
			return 0, s, nil
		}
		seq = s
	}
	n, err := b.route(ep, m, t)
	return n, seq, err
}

// route delivers a validated m from ep to t.
func (b *Broker) route(ep *Endpoint, m *Message, t Target) (int, error) {
	b.failover.replied(m)
	se, err := b.selector(t.Where)
	if err != nil {
		return 0, err
	}
	m.Mode = t.Mode
	var n int
	var d decision // what a targeted send found, for Decisions
	switch t.Mode {
	case ModePublish:
		n = b.publishTopic(ep, m, se)
	case ModeUnicast:
		n, err = b.unicast(m, t.To, se, &d)
	case ModeBroadcast:
		n = b.broadcast(m, se, &d)
	case ModeMulticast:
		n, err = b.multicast(m, t.To, se, &d)
	case ModeAnycast:
		n, err = b.anycast(ep, m, &t, se, &d)
	default:
		err = fmt.Errorf("%w: routing mode %d", ErrInvalidTarget, t.Mode)
	}
	if err != nil {
		return 0, err
	}
	b.stats.msgsIn[t.Mode].Add(1) // t.Mode is valid: the switch above rejected the rest
	b.stats.bytesIn[t.Mode].Add(uint64(len(m.Payload)))
	if n == 0 {
		b.stats.noReceivers.Add(1)
	}
	b.subjects.count(m.Subject)
	if t.Mode != ModePublish {
		b.recordDecision(ep, m, &t, &d)
	}
	return n, nil
}

func (b *Broker) validate(m *Message) error {
	if len(m.Payload) > b.cfg.MaxPayload {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrPayloadTooLarge, len(m.Payload), b.cfg.MaxPayload)
	}
	if len(m.Headers) > b.cfg.MaxHeaders {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrHeadersTooLarge, len(m.Headers), b.cfg.MaxHeaders)
	}
	if err := b.cfg.Subjects.ValidatePublishBytes(m.Subject); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	if len(m.Reply) > 0 {
		if err := b.cfg.Subjects.ValidatePublishBytes(m.Reply); err != nil {
			return fmt.Errorf("%w: reply address: %w", ErrInvalidSubject, err)
		}
	}
	return nil
}

// publishTopic delivers m to every plain subscription matching its subject
// and to one member of every matching queue group, among the endpoints the
// selector admits.
func (b *Broker) publishTopic(sender *Endpoint, m *Message, se *selEntry) int {
	n := 0
	for _, e := range b.topic.MatchBytes(m.Subject) {
		if e.sub != nil {
			if se.admits(e.sub.ep) && b.deliver(e.sub, m) {
				n++
			}
			continue
		}
		if b.deliverGroup(sender, e.group, m, se) {
			n++
		}
	}
	return n
}

// deliverGroup gives m to one member of qg chosen by the group's policy,
// moving on past members that cannot take it.
func (b *Broker) deliverGroup(sender *Endpoint, qg *queueGroup, m *Message, se *selEntry) bool {
	mp := qg.members.Load()
	if mp == nil {
		return false
	}
	members := *mp
	if qg.policy == route.RoundRobin && se.empty() {
		start := qg.next.Add(1) - 1
		for i := range members {
			if b.deliver(members[(start+uint64(i))%uint64(len(members))], m) {
				return true
			}
		}
		return false
	}
	sc := getScratch()
	defer putScratch(sc)
	for _, s := range members {
		if se.admits(s.ep) {
			sc.addLazy(s.ep, s, qg.policy)
		}
	}
	d := route.Decision{Policy: qg.policy, Origin: origin(sender, nil), Key: m.Subject, Turn: qg.next.Add(1) - 1, Loads: sc.loads(qg.policy)}
	_, ok := b.deliverBest(sc, d, m)
	return ok
}

// unicast delivers m to endpoint id's first inbox subscription (lowest SID)
// matching the subject: one copy per endpoint.
func (b *Broker) unicast(m *Message, id []byte, se *selEntry, d *decision) (int, error) {
	if len(id) == 0 {
		return 0, fmt.Errorf("%w: unicast needs an endpoint ID", ErrInvalidTarget)
	}
	b.mu.RLock()
	ep := b.endpoints[string(id)]
	b.mu.RUnlock()
	if ep == nil {
		d.missing = true
		return 0, nil
	}
	admitted := se.admits(ep)
	d.admit(admitted)
	if !admitted {
		return 0, nil
	}
	if s := scopedSub(ep, ScopeInbox, m.Subject); s != nil && b.deliver(s, m) {
		d.chose(ep.id)
		return 1, nil
	}
	return 0, nil
}

// scopedSub returns ep's first subscription of the scope (inbox or group)
// matching subj, or nil.
func scopedSub(ep *Endpoint, scope Scope, subj []byte) *Subscription {
	list := ep.inbox.Load()
	switch scope {
	case ScopeGroup:
		list = ep.groupS.Load()
	case ScopeStream:
		list = ep.streamS.Load()
	}
	if list == nil {
		return nil
	}
	s := bytesToString(subj)
	for _, sub := range *list {
		if subject.Match(sub.pattern, s) {
			return sub
		}
	}
	return nil
}

func (b *Broker) deliver(s *Subscription, m *Message) bool {
	if !s.ep.sink.Deliver(s.sid, m) {
		return false
	}
	mode := m.Mode
	if int(mode) >= NumModes {
		mode = ModePublish // not from Publish, which sets a valid mode
	}
	b.stats.msgsOut[mode].Add(1)
	b.stats.bytesOut[mode].Add(uint64(len(m.Payload)))
	return true
}

// bytesToString views b as a string without copying; the string must not
// outlive b or be kept.
func bytesToString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
