package broker

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/ferrymq/ferry/internal/selector"
)

// MaxIDLength is the longest endpoint ID.
const MaxIDLength = 64

// Sink receives the messages routed to an endpoint. Transports implement it.
type Sink interface {
	// Deliver queues m for the subscription sid. It must copy what it keeps.
	// It returns false when the endpoint cannot take the message (it is
	// closing, was cut as a slow consumer, or its backpressure policy dropped
	// the message). It may wait, bounded, only for a subscription whose
	// subscriber chose block backpressure; the broker holds no lock of its
	// own while calling it.
	Deliver(sid uint64, m *Message) bool
	// Pending reports the messages and bytes queued for the endpoint and
	// not yet written; least-loaded routing ranks on it.
	Pending() (msgs, bytes int)
	// Stream queues a stream event (open, data, credit, close) for the
	// endpoint, under the same rules as Deliver. Stream data is bounded by
	// the credit the endpoint granted, not by the pending limit's policy.
	Stream(f *StreamFrame) bool
}

// EndpointInfo is what an endpoint says about itself at connect.
type EndpointInfo struct {
	ID          string // requested ID; empty asks the broker to assign one
	Name        string
	Region      string
	Labels      map[string]string
	HasLocation bool
	Lat, Lon    float64
}

// Endpoint is one connected client identity.
type Endpoint struct {
	id   string
	sink Sink
	meta atomic.Pointer[Meta]

	// Guarded by Broker.mu.
	subs   map[uint64]*Subscription // by SID
	joined map[string]*mgroup       // multicast groups joined, by name

	// Scoped subscription lists in SID order, replaced whole under
	// Broker.mu and read without locks by routing.
	inbox   atomic.Pointer[[]*Subscription]
	groupS  atomic.Pointer[[]*Subscription]
	streamS atomic.Pointer[[]*Subscription]

	smu        sync.Mutex             // guards streams, nextStream
	streams    map[uint64]*streamSide // by this endpoint's stream ID
	nextStream uint64                 // last even ID given to a stream opened to this endpoint
}

// ID returns the endpoint's unique address.
func (e *Endpoint) ID() string { return e.id }

// ValidateID checks an endpoint ID: 1 to 64 letters, digits, '-' or '_'.
func ValidateID(id string) error {
	if id == "" || len(id) > MaxIDLength {
		return fmt.Errorf("%w: %q must be 1 to %d characters", ErrInvalidID, id, MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: %q has %q at byte %d; use letters, digits, '-' and '_'", ErrInvalidID, id, c, i)
		}
	}
	return nil
}

// Connect registers an endpoint delivering to sink. A requested ID held by
// a connected endpoint is refused with ErrIDInUse.
func (b *Broker) Connect(info EndpointInfo, sink Sink) (*Endpoint, error) {
	if info.ID != "" {
		if err := ValidateID(info.ID); err != nil {
			return nil, err
		}
	}
	m := &Meta{Name: info.Name, Region: info.Region, Labels: selector.Map(maps.Clone(info.Labels)),
		HasLocation: info.HasLocation, Lat: info.Lat, Lon: info.Lon}
	if err := validateMeta(m); err != nil {
		return nil, err
	}
	ep := &Endpoint{id: info.ID, sink: sink, subs: make(map[uint64]*Subscription), joined: make(map[string]*mgroup)}
	ep.meta.Store(m)
	b.mu.Lock()
	defer b.mu.Unlock()
	if ep.id == "" {
		ep.id = b.newIDLocked()
	} else if _, taken := b.endpoints[ep.id]; taken {
		return nil, fmt.Errorf("%w: %q is held by a connected endpoint", ErrIDInUse, ep.id)
	}
	b.endpoints[ep.id] = ep
	b.listChangedLocked()
	b.cfg.Logger.Debug("endpoint connected", "id", ep.id, "name", info.Name)
	return ep, nil
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// newIDLocked returns an unused ID like "ep-k3x9q2m7ab". b.mu must be held
// for writing (it also serialises use of the random source).
func (b *Broker) newIDLocked() string {
	for {
		buf := []byte("ep-0123456789")
		for i := 3; i < len(buf); i++ {
			buf[i] = idAlphabet[b.cfg.Rand.IntN(len(idAlphabet))]
		}
		if _, taken := b.endpoints[string(buf)]; !taken {
			return string(buf)
		}
	}
}

// Disconnect removes an endpoint, its subscriptions and its group
// memberships, and fails over requests it was chosen to answer. It is safe
// to call more than once.
func (b *Broker) Disconnect(ep *Endpoint) {
	b.mu.Lock()
	if b.endpoints[ep.id] != ep {
		b.mu.Unlock()
		return
	}
	delete(b.endpoints, ep.id)
	b.listChangedLocked()
	for _, s := range ep.subs {
		b.removeSubLocked(s)
	}
	for _, g := range ep.joined {
		b.leaveLocked(ep, g)
	}
	ep.inbox.Store(nil)
	ep.groupS.Store(nil)
	ep.streamS.Store(nil)
	b.mu.Unlock()
	b.failover.endpointGone(ep)
	b.streamsGone(ep)
	b.cfg.Logger.Debug("endpoint disconnected", "id", ep.id)
}

// Endpoint returns the connected endpoint with the given ID.
func (b *Broker) Endpoint(id string) (*Endpoint, bool) {
	b.mu.RLock()
	ep, ok := b.endpoints[id]
	b.mu.RUnlock()
	return ep, ok
}
