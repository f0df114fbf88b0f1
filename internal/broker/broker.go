package broker

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/subject"
)

// Config configures a Broker. The zero value works.
type Config struct {
	Subjects       subject.Limits // subject length and token limits
	MaxPayload     int            // bytes; 0 means 1 MiB
	MaxHeaders     int            // bytes; 0 means 64 KiB
	MaxSubsPerConn int            // per endpoint; 0 means 65536
	Rand           *rand.Rand     // source for assigned endpoint IDs; nil seeds one
	Logger         *slog.Logger   // nil discards
	Clock          clock.Clock    // nil means the real clock
	// MaxAttempts bounds the deliveries of one anycast request: the first
	// choice plus failovers. 0 means 3.
	MaxAttempts int
	// FailoverWindow is how long an anycast request without a per-attempt
	// timeout stays tracked for failover on disconnect. 0 means 30s.
	FailoverWindow time.Duration
	// StallTimeout is how long a cut-slow stream waits for a receiver that
	// holds it back before cutting that receiver. 0 means 2s.
	StallTimeout time.Duration
	// Durable, when set, stores plain publishes (ModePublish) whose subject
	// it captures before they are delivered live; see PublishSeq. Nil stores
	// nothing.
	Durable Durable
	// Decisions is how many recent routing decisions of targeted sends the
	// broker keeps for the dashboard (Decisions); 0 means
	// DefaultDecisions, negative keeps none. Events is the same for
	// slow-consumer, stall and failover events (Events), and
	// TrackedSubjects bounds the subjects counted for TopSubjects.
	Decisions, Events, TrackedSubjects int
}

// Durable is the broker's view of the durable logs (server wraps
// internal/logs.Manager). Matches must be cheap and must not allocate on
// a subject it has seen: it runs on every plain publish. Append stores a
// message in every log capturing its subject and returns once it is as
// durable as the logs promise, with the sequence of the first log (or, for
// a message ID seen within the dedupe window, the original's and dup).
// Headers are the opaque encoded block; the implementation reads what it
// needs from it (the message ID).
type Durable interface {
	Matches(subject []byte) bool
	Append(ctx context.Context, subject, headers, payload []byte) (seq uint64, dup bool, err error)
}

func (c Config) withDefaults() Config {
	if c.MaxPayload == 0 {
		c.MaxPayload = 1 << 20
	}
	if c.MaxHeaders == 0 {
		c.MaxHeaders = 64 << 10
	}
	if c.MaxSubsPerConn == 0 {
		c.MaxSubsPerConn = 65536
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.FailoverWindow == 0 {
		c.FailoverWindow = 30 * time.Second
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	c.Decisions = cmp.Or(c.Decisions, DefaultDecisions)
	c.Events = cmp.Or(c.Events, DefaultEvents)
	c.TrackedSubjects = cmp.Or(c.TrackedSubjects, DefaultTrackedSubjects)
	return c
}

// Broker routes messages between endpoints. It is safe for concurrent use.
type Broker struct {
	cfg Config

	// topic indexes topic-scope subscriptions and queue groups by pattern.
	// It is safe for concurrent use on its own, so Publish takes no broker
	// lock on the plain publish path.
	topic *subject.Index[*entry]

	mu        sync.RWMutex // guards endpoints, groups, mgroups, each endpoint's subs and joined, Rand
	endpoints map[string]*Endpoint
	groups    map[groupKey]*queueGroup // queue groups of topic subscriptions
	mgroups   map[string]*mgroup       // multicast groups

	list     atomic.Pointer[[]*Endpoint] // all endpoints in ID order, replaced whole under mu
	sels     selCache
	failover failover
	stats    counters
	started  time.Time // when New ran, for Stats.Uptime

	decisions decisionRing // recent targeted-send decisions
	events    eventRing    // recent slow-consumer, stall, failover events
	subjects  subjectRates // messages per subject
}

// New returns an empty broker.
func New(cfg Config) *Broker {
	b := &Broker{
		cfg:       cfg.withDefaults(),
		topic:     subject.NewIndex[*entry](),
		endpoints: make(map[string]*Endpoint),
		groups:    make(map[groupKey]*queueGroup),
		mgroups:   make(map[string]*mgroup),
	}
	b.started = b.cfg.Clock.Now()
	b.decisions = newDecisionRing(b.cfg.Decisions)
	b.events.slots = make([]Event, max(b.cfg.Events, 0))
	b.subjects.max = b.cfg.TrackedSubjects
	b.sels.none.all = true
	b.failover.b = b
	return b
}

// Config returns the broker's configuration with defaults filled in.
func (b *Broker) Config() Config { return b.cfg }

type counters struct {
	noReceivers, slowConsumers        atomic.Uint64
	failovers                         atomic.Uint64
	streams, streamMsgs, streamStalls atomic.Uint64
	subscriptions                     atomic.Int64
	// Indexed by Mode; totals are their sums, so a message costs no more
	// atomic additions than with totals alone.
	msgsIn, bytesIn, msgsOut, bytesOut [NumModes]atomic.Uint64
}

// NumModes is the number of routing modes, the length of Stats.ByMode.
const NumModes = int(ModeAnycast) + 1

// Stats is a snapshot of the broker's counters.
type Stats struct {
	Endpoints     int
	Subscriptions int64
	MsgsIn        uint64 // messages published
	BytesIn       uint64 // payload bytes published
	MsgsOut       uint64 // deliveries to subscriptions
	BytesOut      uint64 // payload bytes delivered
	NoReceivers   uint64 // publishes that reached nobody
	SlowConsumers uint64 // endpoints cut for falling behind
	Failovers     uint64 // anycast requests handed to the next candidate
	Streams       uint64 // streams and channels opened
	StreamMsgs    uint64 // stream messages relayed (once per sender message)
	StreamStalls  uint64 // times a cut-slow stream was held back by one receiver
	// MsgsInByMode splits MsgsIn by routing mode, indexed by Mode:
	// publish, unicast, broadcast, multicast, anycast.
	MsgsInByMode [NumModes]uint64
	// ByMode splits the in and out counters by routing mode, indexed by
	// Mode (ByMode[m].MsgsIn == MsgsInByMode[m]).
	ByMode [NumModes]ModeStats
	// Uptime is the time since the broker was created.
	Uptime time.Duration
}

// ModeStats are the counters of one routing mode.
type ModeStats struct {
	MsgsIn   uint64 // messages published in this mode
	BytesIn  uint64 // their payload bytes
	MsgsOut  uint64 // deliveries of messages published in this mode
	BytesOut uint64 // their payload bytes
}

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.RLock()
	n := len(b.endpoints)
	b.mu.RUnlock()
	st := Stats{
		Uptime:        b.cfg.Clock.Now().Sub(b.started),
		Endpoints:     n,
		Subscriptions: b.stats.subscriptions.Load(),
		NoReceivers:   b.stats.noReceivers.Load(),
		SlowConsumers: b.stats.slowConsumers.Load(),
		Failovers:     b.stats.failovers.Load(),
		Streams:       b.stats.streams.Load(),
		StreamMsgs:    b.stats.streamMsgs.Load(),
		StreamStalls:  b.stats.streamStalls.Load(),
	}
	for i := range st.ByMode {
		m := ModeStats{
			MsgsIn: b.stats.msgsIn[i].Load(), BytesIn: b.stats.bytesIn[i].Load(),
			MsgsOut: b.stats.msgsOut[i].Load(), BytesOut: b.stats.bytesOut[i].Load(),
		}
		st.ByMode[i], st.MsgsInByMode[i] = m, m.MsgsIn
		st.MsgsIn += m.MsgsIn
		st.BytesIn += m.BytesIn
		st.MsgsOut += m.MsgsOut
		st.BytesOut += m.BytesOut
	}
	return st
}
