package broker

import (
	"fmt"
	"sync"
	"time"
)

// DefaultEvents is how many recent events the broker keeps when
// Config.Events is 0.
const DefaultEvents = 128

// Event kinds.
const (
	EventSlowConsumer = "slow-consumer" // an endpoint was cut for falling behind
	EventDropped      = "dropped"       // backpressure policies dropped messages
	EventStreamStall  = "stream-stall"  // one receiver holds a cut-slow stream back
	EventStreamCut    = "stream-cut"    // a stalled receiver was cut from a stream
	EventFailover     = "failover"      // an anycast request moved to the next candidate
	EventNoResponders = "no-responders" // a tracked request ran out of candidates
	EventLogReadOnly  = "log-read-only" // a durable log refuses appends
)

// Event is something an operator should see: a slow consumer, a drop, a
// stall, a failover. Events are rare; they are formatted when recorded.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Text string    `json:"text"`
}

// eventRing keeps the last len(slots) events.
type eventRing struct {
	mu    sync.Mutex // guards slots, next
	slots []Event
	next  uint64
}

func (r *eventRing) add(e Event) {
	if len(r.slots) == 0 {
		return
	}
	r.mu.Lock()
	r.slots[r.next%uint64(len(r.slots))] = e
	r.next++
	r.mu.Unlock()
}

func (r *eventRing) list() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.next, uint64(len(r.slots)))
	out := make([]Event, 0, n)
	for i := uint64(1); i <= n; i++ {
		out = append(out, r.slots[(r.next-i)%uint64(len(r.slots))])
	}
	return out
}

// RecordEvent keeps an event of the given kind (one of the Event
// constants, or another short word) for the dashboard. Other layers use it
// for what only they see, like backpressure drops or a read-only log.
func (b *Broker) RecordEvent(kind, text string) {
	b.events.add(Event{Time: b.cfg.Clock.Now(), Kind: kind, Text: text})
}

// Events returns the recent events, newest first: at most Config.Events
// of them.
func (b *Broker) Events() []Event { return b.events.list() }

// CutSlowConsumer records that a transport cut endpoint id for falling
// behind, and why: it counts in Stats and the event names them.
func (b *Broker) CutSlowConsumer(id, why string) {
	b.stats.slowConsumers.Add(1)
	b.RecordEvent(EventSlowConsumer, fmt.Sprintf("endpoint %s cut as a slow consumer: %s", id, why))
}
