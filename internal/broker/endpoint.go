package broker

import (
	"fmt"
	"maps"
	"sync/atomic"
)

// MaxIDLength is the longest endpoint ID.
const MaxIDLength = 64

// Sink receives the messages routed to an endpoint. Transports implement it.
type Sink interface {
	// Deliver queues m for the subscription sid. It must copy what it keeps
	// and must not block; it returns false when the endpoint cannot take the
	// message (it is closing, or was cut as a slow consumer).
	Deliver(sid uint64, m *Message) bool
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
	info EndpointInfo // immutable after Connect (metadata changes arrive with the routing issue)
	sink Sink

	// subs maps SID to subscription; guarded by Broker.mu.
	subs map[uint64]*Subscription
	// inbox is the endpoint's inbox-scope subscriptions in SID order,
	// replaced whole under Broker.mu and read without locks.
	inbox atomic.Pointer[[]*Subscription]
}

// ID returns the endpoint's unique address.
func (e *Endpoint) ID() string { return e.info.ID }

// Info returns a copy of what the endpoint said about itself.
func (e *Endpoint) Info() EndpointInfo {
	i := e.info
	i.Labels = maps.Clone(i.Labels)
	return i
}

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
	info.Labels = maps.Clone(info.Labels)
	ep := &Endpoint{info: info, sink: sink, subs: make(map[uint64]*Subscription)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if info.ID == "" {
		ep.info.ID = b.newIDLocked()
	} else if _, taken := b.endpoints[info.ID]; taken {
		return nil, fmt.Errorf("%w: %q is held by a connected endpoint", ErrIDInUse, info.ID)
	}
	b.endpoints[ep.info.ID] = ep
	b.cfg.Logger.Debug("endpoint connected", "id", ep.info.ID, "name", info.Name)
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

// Disconnect removes an endpoint and all its subscriptions. It is safe to
// call more than once.
func (b *Broker) Disconnect(ep *Endpoint) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.endpoints[ep.info.ID] != ep {
		return
	}
	delete(b.endpoints, ep.info.ID)
	for _, s := range ep.subs {
		b.removeSubLocked(s)
	}
	ep.inbox.Store(nil)
	b.cfg.Logger.Debug("endpoint disconnected", "id", ep.info.ID)
}

// Endpoint returns the connected endpoint with the given ID.
func (b *Broker) Endpoint(id string) (*Endpoint, bool) {
	b.mu.RLock()
	ep, ok := b.endpoints[id]
	b.mu.RUnlock()
	return ep, ok
}
