package broker

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"

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
	return c
}

// Broker routes messages between endpoints. It is safe for concurrent use.
type Broker struct {
	cfg Config

	// topic indexes topic-scope subscriptions and queue groups by pattern.
	// It is safe for concurrent use on its own, so Publish takes no broker
	// lock on the plain publish path.
	topic *subject.Index[*entry]

	mu        sync.RWMutex // guards endpoints, groups, subscription maps, randMu use
	endpoints map[string]*Endpoint
	groups    map[groupKey]*queueGroup

	stats counters
}

// New returns an empty broker.
func New(cfg Config) *Broker {
	return &Broker{
		cfg:       cfg.withDefaults(),
		topic:     subject.NewIndex[*entry](),
		endpoints: make(map[string]*Endpoint),
		groups:    make(map[groupKey]*queueGroup),
	}
}

// Config returns the broker's configuration with defaults filled in.
func (b *Broker) Config() Config { return b.cfg }

type counters struct {
	msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64
	noReceivers, slowConsumers         atomic.Uint64
	subscriptions                      atomic.Int64
}

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
}

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.RLock()
	n := len(b.endpoints)
	b.mu.RUnlock()
	return Stats{
		Endpoints:     n,
		Subscriptions: b.stats.subscriptions.Load(),
		MsgsIn:        b.stats.msgsIn.Load(),
		BytesIn:       b.stats.bytesIn.Load(),
		MsgsOut:       b.stats.msgsOut.Load(),
		BytesOut:      b.stats.bytesOut.Load(),
		NoReceivers:   b.stats.noReceivers.Load(),
		SlowConsumers: b.stats.slowConsumers.Load(),
	}
}

// CountSlowConsumer records that a transport cut an endpoint for falling
// behind.
func (b *Broker) CountSlowConsumer() { b.stats.slowConsumers.Add(1) }
