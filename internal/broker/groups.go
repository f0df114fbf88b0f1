package broker

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// mgroup is a named multicast group: the endpoints that joined it.
type mgroup struct {
	name    string
	members atomic.Pointer[[]*Endpoint] // ID order; replaced whole under Broker.mu
	turn    atomic.Uint64               // anycast round-robin position
}

func (g *mgroup) memberList() []*Endpoint {
	if p := g.members.Load(); p != nil {
		return *p
	}
	return nil
}

// Join adds ep to the named multicast group, creating it. Joining a group
// twice is a no-op. Membership ends with Leave or when ep disconnects, and
// takes effect for the next message.
func (b *Broker) Join(ep *Endpoint, name string) error {
	if err := b.cfg.Subjects.ValidatePublish(name); err != nil {
		return fmt.Errorf("%w: group name: %w", ErrInvalidTarget, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.endpoints[ep.id] != ep {
		return ErrClosed
	}
	if _, ok := ep.joined[name]; ok {
		return nil
	}
	g := b.mgroups[name]
	if g == nil {
		g = &mgroup{name: name}
		b.mgroups[name] = g
	}
	members := append(slices.Clone(g.memberList()), ep)
	slices.SortFunc(members, func(x, y *Endpoint) int { return strings.Compare(x.id, y.id) })
	g.members.Store(&members)
	ep.joined[name] = g
	return nil
}

// Leave removes ep from the named group.
func (b *Broker) Leave(ep *Endpoint, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, ok := ep.joined[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotMember, name)
	}
	b.leaveLocked(ep, g)
	return nil
}

func (b *Broker) leaveLocked(ep *Endpoint, g *mgroup) {
	delete(ep.joined, g.name)
	members := slices.DeleteFunc(slices.Clone(g.memberList()), func(m *Endpoint) bool { return m == ep })
	if len(members) == 0 {
		delete(b.mgroups, g.name)
		g.members.Store(nil)
		return
	}
	g.members.Store(&members)
}

// group returns the named multicast group, or nil.
func (b *Broker) group(name []byte) *mgroup {
	b.mu.RLock()
	g := b.mgroups[string(name)]
	b.mu.RUnlock()
	return g
}

// GroupInfo describes a multicast group.
type GroupInfo struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// Groups lists the multicast groups with their members, by name.
func (b *Broker) Groups() []GroupInfo {
	b.mu.RLock()
	out := make([]GroupInfo, 0, len(b.mgroups))
	for _, g := range b.mgroups {
		gi := GroupInfo{Name: g.name}
		for _, m := range g.memberList() {
			gi.Members = append(gi.Members, m.id)
		}
		out = append(out, gi)
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(x, y GroupInfo) int { return strings.Compare(x.Name, y.Name) })
	return out
}
