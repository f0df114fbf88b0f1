package broker

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ferrymq/ferry/internal/route"
)

// DefaultDecisions is how many recent routing decisions the broker keeps
// when Config.Decisions is 0.
const DefaultDecisions = 256

// maxChosen bounds the receiver IDs kept per decision; Decision.Count has
// the full number.
const maxChosen = 8

// Decision is one recorded routing decision of a targeted send (unicast,
// broadcast, multicast, anycast, or an anycast failover).
type Decision struct {
	Time    time.Time `json:"time"`
	Sender  string    `json:"sender,omitempty"`
	Subject string    `json:"subject"`
	Mode    string    `json:"mode"`
	To      string    `json:"to,omitempty"`     // endpoint or group
	Where   string    `json:"where,omitempty"`  // label selector
	Policy  string    `json:"policy,omitempty"` // anycast only
	// Chosen lists up to 8 receivers; Count is how many there were.
	Chosen []string `json:"chosen"`
	Count  int      `json:"count"`
	Reason string   `json:"reason"`
}

// decision collects what a targeted send found while it routes; it lives
// on the stack of route and is copied into the ring afterwards. Its
// reason is formatted only when read.
type decision struct {
	chosen     [maxChosen]string
	n          int // receivers, may exceed maxChosen
	considered int // endpoints looked at
	admitted   int // endpoints the selector admitted
	cands      int // anycast candidates (admitted and subscribed)
	policy     route.Policy
	origin     route.Origin    // anycast: where nearest measured from
	cand       route.Candidate // anycast: the chosen candidate
	failover   string          // the endpoint a failover moved away from
	why        string          // why it moved: declined, disconnected, timed out
	attempt    int
	missing    bool // the named endpoint (unicast) or group does not exist
}

func (d *decision) chose(id string) {
	if d.n < maxChosen {
		d.chosen[d.n] = id
	}
	d.n++
}

// admit counts an endpoint looked at and whether the selector admitted it.
func (d *decision) admit(ok bool) {
	d.considered++
	if ok {
		d.admitted++
	}
}

type decisionSlot struct {
	at      time.Time
	mode    Mode
	sender  string
	from    []byte // the sender's ID when no endpoint is known
	subject []byte
	to      []byte
	where   []byte
	d       decision
}

// decisionRing keeps the last len(slots) decisions. Recording copies the
// fields into a slot whose byte buffers are reused, so it does not
// allocate once the ring has gone round.
type decisionRing struct {
	mu    sync.Mutex // guards slots, next
	slots []decisionSlot
	next  uint64 // decisions recorded so far
}

func newDecisionRing(n int) decisionRing {
	if n <= 0 {
		return decisionRing{}
	}
	return decisionRing{slots: make([]decisionSlot, n)}
}

func (r *decisionRing) record(at time.Time, sender *Endpoint, from, subj []byte, t *Target, d *decision) {
	if len(r.slots) == 0 {
		return
	}
	r.mu.Lock()
	s := &r.slots[r.next%uint64(len(r.slots))]
	r.next++
	s.at, s.mode = at, t.Mode
	s.sender, s.from = "", s.from[:0]
	if sender != nil {
		s.sender = sender.id
	} else {
		s.from = append(s.from, from...)
	}
	s.subject = append(s.subject[:0], subj...)
	s.to = append(s.to[:0], t.To...)
	s.where = append(s.where[:0], t.Where...)
	s.d = *d
	r.mu.Unlock()
}

// list returns the newest k recorded decisions (all for k ≥ the ring's
// size; none for k ≤ 0), newest first. Only those have their reason
// formatted.
func (r *decisionRing) list(k int) []Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.next, uint64(len(r.slots)), uint64(max(k, 0)))
	out := make([]Decision, 0, n)
	for i := uint64(1); i <= n; i++ {
		out = append(out, r.slots[(r.next-i)%uint64(len(r.slots))].view())
	}
	return out
}

func (s *decisionSlot) view() Decision {
	d := &s.d
	v := Decision{
		Time: s.at, Sender: s.sender, Subject: string(s.subject), Mode: s.mode.String(),
		To: string(s.to), Where: string(s.where), Count: d.n, Chosen: make([]string, min(d.n, maxChosen)),
	}
	if v.Sender == "" {
		v.Sender = string(s.from)
	}
	copy(v.Chosen, d.chosen[:])
	if s.mode == ModeAnycast {
		v.Policy = d.policy.String()
	}
	v.Reason = s.reason()
	return v
}

func (s *decisionSlot) reason() string {
	d := &s.d
	sel := ""
	if len(s.where) > 0 {
		sel = fmt.Sprintf("selector matched %d of %d; ", d.admitted, d.considered)
	}
	switch {
	case d.failover != "":
		return fmt.Sprintf("failover after %s from %s: next in rank order (attempt %d)", d.why, d.failover, d.attempt)
	case d.missing && s.mode == ModeUnicast:
		return fmt.Sprintf("no receiver: no endpoint %q is connected", s.to)
	case d.missing:
		return fmt.Sprintf("no receiver: no group %q exists (a group exists while it has members)", s.to)
	case d.n == 0:
		return sel + "no receiver: nobody matching has a subscription of the right scope on the subject"
	case s.mode == ModeUnicast:
		return sel + "unicast to the named endpoint"
	case s.mode == ModeAnycast:
		c := d.cand
		c.DistanceKm = math.NaN()
		if d.policy == route.Nearest && d.origin.HasLocation && c.HasLocation {
			c.DistanceKm = route.DistanceKm(d.origin.Lat, d.origin.Lon, c.Lat, c.Lon)
		}
		return fmt.Sprintf("%s%s (%d candidates)", sel, reason(d.policy, c), d.cands)
	}
	return sel + reachesAll(s.mode, d.n)
}

// Decisions returns the recent routing decisions of targeted sends, newest
// first: at most Config.Decisions of them.
func (b *Broker) Decisions() []Decision { return b.decisions.list(len(b.decisions.slots)) }

// RecentDecisions returns the newest k routing decisions (fewer when fewer
// are kept; none for k ≤ 0), newest first. Reasons are formatted when read,
// so a caller that shows only a few should ask for only a few.
func (b *Broker) RecentDecisions(k int) []Decision { return b.decisions.list(k) }

// recordDecision keeps the decision of a targeted send.
func (b *Broker) recordDecision(sender *Endpoint, m *Message, t *Target, d *decision) {
	if len(b.decisions.slots) == 0 {
		return
	}
	at := m.Received
	if at.IsZero() {
		at = b.cfg.Clock.Now()
	}
	b.decisions.record(at, sender, m.From, m.Subject, t, d)
}

// recordFailover keeps the decision and an event for a tracked request
// handed from p.current to next; p.mu is held.
func (f *failover) recordFailover(p *pendingReq, next *Endpoint) {
	d := decision{failover: p.current.id, why: p.why, attempt: p.attempts + 1, policy: p.policy}
	d.chose(next.id)
	t := Target{Mode: ModeAnycast}
	f.b.recordDecision(p.requester, &p.msg, &t, &d)
	f.b.RecordEvent(EventFailover, fmt.Sprintf("request on %s handed from %s to %s after a %s (attempt %d)",
		p.msg.Subject, p.current.id, next.id, p.why, d.attempt))
}
