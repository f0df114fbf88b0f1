package broker

import (
	"fmt"
	"sync"

	"github.com/ferrymq/ferry/internal/route"
)

// broadcast delivers m once to every endpoint the selector admits, on its
// first inbox subscription matching the subject.
func (b *Broker) broadcast(m *Message, se *selEntry, d *decision) int {
	n := 0
	for _, ep := range b.allEndpoints() {
		admitted := se.admits(ep)
		d.admit(admitted)
		if !admitted {
			continue
		}
		if s := scopedSub(ep, ScopeInbox, m.Subject); s != nil && b.deliver(s, m) {
			d.chose(ep.id)
			n++
		}
	}
	return n
}

// multicast delivers m once to every member of the named group (group
// scope), or, with no group, to every endpoint the selector admits (inbox
// scope). A selector also filters a group's members.
func (b *Broker) multicast(m *Message, group []byte, se *selEntry, d *decision) (int, error) {
	if len(group) == 0 {
		if se.empty() {
			return 0, fmt.Errorf("%w: multicast needs a group or a selector", ErrInvalidTarget)
		}
		return b.broadcast(m, se, d), nil
	}
	g := b.group(group)
	if g == nil {
		d.missing = true
		return 0, nil
	}
	n := 0
	for _, ep := range g.memberList() {
		admitted := se.admits(ep)
		d.admit(admitted)
		if !admitted {
			continue
		}
		if s := scopedSub(ep, ScopeGroup, m.Subject); s != nil && b.deliver(s, m) {
			d.chose(ep.id)
			n++
		}
	}
	return n, nil
}

// anycast delivers m to exactly one candidate: a member of the named group
// (group scope) or any endpoint (inbox scope), filtered by the selector,
// chosen by the target's policy. A request is tracked for failover.
func (b *Broker) anycast(sender *Endpoint, m *Message, t *Target, se *selEntry, rec *decision) (int, error) {
	if !t.Policy.Valid() {
		return 0, fmt.Errorf("%w: unknown anycast policy %d", ErrInvalidTarget, t.Policy)
	}
	sc := getScratch()
	defer putScratch(sc)
	turn := b.collect(sc, t, se, m.Subject, rec)
	rec.policy, rec.cands = t.Policy, len(sc.cands)
	if len(sc.cands) == 0 {
		return 0, nil
	}
	key := t.Key
	if len(key) == 0 {
		key = m.Subject
	}
	d := route.Decision{Policy: t.Policy, Origin: origin(sender, t), Key: key, Turn: turn, Loads: sc.loads(t.Policy)}
	rec.origin = d.Origin
	i, ok := -1, false
	if len(m.Reply) > 0 && len(sc.cands) > 1 && b.cfg.MaxAttempts > 1 {
		i, ok = b.failover.deliverTracked(sender, m, sc, d, scopeOf(t), t.Timeout)
	} else {
		i, ok = b.deliverBest(sc, d, m)
	}
	if !ok {
		return 0, nil
	}
	rec.cand = sc.cands[i]
	rec.chose(sc.eps[i].id)
	return 1, nil
}

// collect fills sc with the anycast candidates that have a subscription of
// the right scope matching subj, and returns the round-robin turn.
func (b *Broker) collect(sc *scratch, t *Target, se *selEntry, subj []byte, d *decision) uint64 {
	var eps []*Endpoint
	var turn *uint64Counter
	if len(t.To) > 0 {
		g := b.group(t.To)
		if g == nil {
			d.missing = true
			return 0
		}
		eps, turn = g.memberList(), &g.turn
	} else {
		eps, turn = b.allEndpoints(), &se.turn
	}
	scope := scopeOf(t)
	for _, ep := range eps {
		admitted := se.admits(ep)
		d.admit(admitted)
		if !admitted {
			continue
		}
		if s := scopedSub(ep, scope, subj); s != nil {
			sc.addLazy(ep, s, t.Policy)
		}
	}
	return turn.Add(1) - 1
}

func scopeOf(t *Target) Scope {
	if len(t.To) > 0 {
		return ScopeGroup
	}
	return ScopeInbox
}

// deliverBest delivers m to the candidate d's policy picks; if that one
// cannot take it, to the next in rank order. It returns the index of the
// receiver in sc.
func (b *Broker) deliverBest(sc *scratch, d route.Decision, m *Message) (int, bool) {
	i := route.Best(sc.cands, d)
	if i < 0 {
		return -1, false
	}
	if b.deliver(sc.subs[i], m) {
		return i, true
	}
	for _, j := range sc.ranked(d) {
		if j != i && b.deliver(sc.subs[j], m) {
			return j, true
		}
	}
	return -1, false
}

// origin is where a send comes from for nearest: the target's explicit
// point, else the sender's location; the region is the sender's.
func origin(sender *Endpoint, t *Target) route.Origin {
	var o route.Origin
	if sender != nil {
		m := sender.meta.Load()
		o = route.Origin{HasLocation: m.HasLocation, Lat: m.Lat, Lon: m.Lon, XYZ: m.XYZ, Region: m.Region}
	}
	if t != nil && t.HasNear {
		o.HasLocation, o.Lat, o.Lon = true, t.Lat, t.Lon
		o.XYZ = route.UnitVector(t.Lat, t.Lon)
	}
	return o
}

// scratch holds one send's anycast candidates, pooled so routing does not
// allocate per message.
type scratch struct {
	cands []route.Candidate
	subs  []*Subscription
	eps   []*Endpoint
	order []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	clear(sc.subs)
	clear(sc.eps)
	sc.cands, sc.subs, sc.eps, sc.order = sc.cands[:0], sc.subs[:0], sc.eps[:0], sc.order[:0]
	scratchPool.Put(sc)
}

// add appends a candidate; load is read only for policies that rank on it.
func (sc *scratch) add(ep *Endpoint, s *Subscription, p route.Policy) {
	sc.push(ep, s, p == route.Nearest || p == route.LeastLoaded)
}

// addLazy is add for a send whose Decision has Loads: sc.loads(p). For
// Nearest it leaves the load unread, as route.Best needs only the loads of
// the candidates that tie with the nearest (reading one may take the
// subscriber connection's lock).
func (sc *scratch) addLazy(ep *Endpoint, s *Subscription, p route.Policy) {
	sc.push(ep, s, p == route.LeastLoaded)
}

func (sc *scratch) push(ep *Endpoint, s *Subscription, load bool) {
	m := ep.meta.Load()
	c := route.Candidate{ID: ep.id, Region: m.Region, HasLocation: m.HasLocation, Lat: m.Lat, Lon: m.Lon, XYZ: m.XYZ}
	if load {
		c.PendingMsgs, c.PendingBytes = ep.sink.Pending()
	}
	sc.cands = append(sc.cands, c)
	sc.subs = append(sc.subs, s)
	sc.eps = append(sc.eps, ep)
}

// loads is the Decision.Loads for candidates added with addLazy.
func (sc *scratch) loads(p route.Policy) route.Loads {
	if p == route.Nearest {
		return sc
	}
	return nil
}

// Load reads candidate i's load, for route.Loads.
func (sc *scratch) Load(i int) (msgs, bytes int) { return sc.eps[i].sink.Pending() }

// ranked returns candidate indexes in d's rank order.
func (sc *scratch) ranked(d route.Decision) []int {
	sc.order = route.Order(sc.cands, d, sc.order)
	return sc.order
}
