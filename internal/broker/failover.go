package broker

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/wire"
)

// StatusHeader marks a message about a request rather than its answer.
// The broker sends StatusNoResponders when every candidate of an anycast
// request failed; a receiver sends StatusDeclined when it will not answer,
// which hands a tracked anycast request to the next candidate.
const (
	StatusHeader       = "Ferry-Status"
	StatusNoResponders = "no-responders"
	StatusDeclined     = "declined"
)

// maxTracked bounds the anycast requests tracked for failover at once;
// past it new requests are still delivered but not failed over.
const maxTracked = 65536

// failover tracks anycast requests until they are answered, so that when
// the chosen receiver disconnects or misses its deadline the next-ranked
// candidate gets the request.
type failover struct {
	b *Broker
	n atomic.Int64 // len(reqs), read without the lock on the publish path

	mu   sync.RWMutex // guards reqs only; never held while delivering
	reqs map[string]*pendingReq
}

// pendingReq is one tracked request. Lock order: pendingReq.mu, then
// failover.mu.
type pendingReq struct {
	mu        sync.Mutex // guards the fields below
	done      bool
	reply     string
	requester *Endpoint
	msg       Message // deep copy
	scope     Scope
	current   *Endpoint
	// holder is current, or the candidate a delivery is being tried on:
	// whoever has or may be getting the request. endpointGone reads it
	// without p.mu, so a disconnect never waits on unrelated requests
	// (whose delivery may be waiting on a subscriber).
	holder   atomic.Pointer[Endpoint]
	next     []*Endpoint   // remaining candidates in rank order
	attempts int           // deliveries made
	timeout  time.Duration // per attempt; 0: fail over on disconnect only
	timer    clock.Timer
	policy   route.Policy
	why      string // why the next advance happens: declined, disconnected, timed out
}

// deliverTracked delivers an anycast request to its best candidate with
// failover tracking registered first, so a decline or disconnect that
// arrives at once is already covered. The candidates in sc are tried in d's
// rank order; it reports whether any received the request, and which (its
// index in sc).
func (f *failover) deliverTracked(requester *Endpoint, m *Message, sc *scratch, d route.Decision, scope Scope, timeout time.Duration) (int, bool) {
	order := sc.ranked(d)
	p := &pendingReq{
		reply: string(m.Reply), requester: requester, scope: scope, timeout: timeout, policy: d.Policy,
		msg: Message{
			Subject: slices.Clone(m.Subject), Reply: slices.Clone(m.Reply), From: slices.Clone(m.From),
			Mode: m.Mode, Headers: slices.Clone(m.Headers), Payload: slices.Clone(m.Payload),
		},
	}
	for _, i := range order {
		p.next = append(p.next, sc.eps[i])
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f.mu.Lock()
	if f.reqs == nil {
		f.reqs = make(map[string]*pendingReq)
	}
	if len(f.reqs) >= maxTracked || f.reqs[p.reply] != nil {
		f.mu.Unlock()
		return f.b.deliverBest(sc, d, m) // untracked: deliver without failover
	}
	f.reqs[p.reply] = p
	f.n.Store(int64(len(f.reqs)))
	f.mu.Unlock()
	if !f.advanceLocked(p) {
		return -1, false
	}
	return slices.Index(sc.eps, p.current), true
}

func (f *failover) armLocked(p *pendingReq) {
	d, attempt := p.timeout, p.attempts
	if d <= 0 {
		d = f.b.cfg.FailoverWindow
	}
	p.timer = f.b.cfg.Clock.AfterFunc(d, func() { f.expire(p, attempt) })
}

// replied ends tracking of the request whose reply subject is m's subject,
// or, when m declines it, hands the request to the next candidate.
func (f *failover) replied(m *Message) {
	if f.n.Load() == 0 {
		return
	}
	f.mu.RLock() // every publish looks here while requests are tracked
	p := f.reqs[string(m.Subject)]
	f.mu.RUnlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	if Declined(m.Headers) && p.current != nil && string(m.From) == p.current.id {
		p.why = "decline"
		f.advanceLocked(p)
		return
	}
	f.dropLocked(p)
}

// Declined reports whether an encoded header block carries
// Ferry-Status: declined, the answer of a receiver that will not reply.
func Declined(headers []byte) bool { return wire.HasHeader(headers, StatusHeader, StatusDeclined) }

// dropLocked ends tracking of p; p.mu must be held.
func (f *failover) dropLocked(p *pendingReq) {
	p.done = true
	if p.timer != nil {
		p.timer.Stop()
	}
	f.mu.Lock()
	if f.reqs[p.reply] == p {
		delete(f.reqs, p.reply)
	}
	f.n.Store(int64(len(f.reqs)))
	f.mu.Unlock()
}

// endpointGone fails over the requests ep was answering and forgets the
// ones it asked.
func (f *failover) endpointGone(ep *Endpoint) {
	if f.n.Load() == 0 {
		return
	}
	f.mu.RLock()
	ps := make([]*pendingReq, 0, len(f.reqs))
	for _, p := range f.reqs {
		ps = append(ps, p)
	}
	f.mu.RUnlock()
	for _, p := range ps {
		if p.requester != ep && p.holder.Load() != ep {
			continue // not ep's request, nor being answered by ep
		}
		p.mu.Lock()
		switch {
		case p.done:
		case p.requester == ep:
			f.dropLocked(p)
		case p.current == ep:
			p.why = "disconnect"
			f.advanceLocked(p)
		}
		p.mu.Unlock()
	}
}

// expire runs when attempt's deadline passes.
func (f *failover) expire(p *pendingReq, attempt int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.attempts != attempt {
		return
	}
	if p.timeout <= 0 { // the tracking window ended with no failover asked
		f.dropLocked(p)
		return
	}
	p.why = "timeout"
	f.advanceLocked(p)
}

// advanceLocked gives the request to the next candidate that is still
// connected and subscribed, or, when attempts or candidates run out, tells
// the requester there are no responders. It reports whether a candidate got
// the request. p.mu must be held (failover.mu must not: delivery may wait
// for a subscriber with block backpressure).
func (f *failover) advanceLocked(p *pendingReq) bool {
	if p.timer != nil {
		p.timer.Stop()
	}
	for len(p.next) > 0 && p.attempts < f.b.cfg.MaxAttempts {
		ep := p.next[0]
		p.next = p.next[1:]
		// holder first, then the check that ep is still connected: a
		// disconnect either unregisters ep before the check (which fails)
		// or finds ep as holder and waits for p.mu.
		p.holder.Store(ep)
		s := scopedSub(ep, p.scope, p.msg.Subject)
		if cur, ok := f.b.Endpoint(ep.id); !ok || cur != ep || s == nil || !f.b.deliver(s, &p.msg) {
			p.holder.Store(p.current)
			continue
		}
		if p.current != nil {
			f.b.stats.failovers.Add(1)
			f.recordFailover(p, ep)
		}
		p.current = ep
		p.attempts++
		f.armLocked(p)
		return true
	}
	f.dropLocked(p)
	if p.current == nil {
		return false // nobody took it at all: the OK count says no responders
	}
	f.b.RecordEvent(EventNoResponders, fmt.Sprintf("request on %s: no candidate left after %s from %s (%d attempts)",
		p.msg.Subject, p.why, p.current.id, p.attempts))
	status := Message{
		Subject: []byte(p.reply), From: p.msg.From, Mode: ModePublish,
		Headers: wire.AppendHeaders(nil, []wire.HeaderField{{Key: StatusHeader, Value: StatusNoResponders}}),
	}
	f.b.publishTopic(nil, &status, nil)
	return false
}
