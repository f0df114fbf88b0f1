package broker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ferrymq/ferry/internal/route"
)

// countingSink reports a set load, and counts its deliveries and load reads.
type countingSink struct {
	mu                 sync.Mutex
	msgs, bytes        int
	delivered, pending int
}

func (s *countingSink) Deliver(uint64, *Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered++
	return true
}

func (s *countingSink) Stream(*StreamFrame) bool { return true }

func (s *countingSink) Pending() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending++
	return s.msgs, s.bytes
}

func (s *countingSink) set(bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes, s.delivered, s.pending = bytes, 0, 0
}

func (s *countingSink) counts() (delivered, pending int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered, s.pending
}

// TestNearestTieBreaksByLoad: of four members, two at the sender's
// location (a distance tie) and two far, the less loaded near one gets each
// message, by ID when loads tie; only the near ones' loads are read.
func TestNearestTieBreaksByLoad(t *testing.T) {
	paths := []struct {
		name   string
		scope  Scope
		target Target
	}{
		{"queue group", ScopeTopic, Target{}},
		{"anycast to group", ScopeGroup, Target{Mode: ModeAnycast, To: []byte("g"), Policy: route.Nearest}},
	}
	loads := []struct {
		name         string
		near0, near1 int // pending bytes of m0 and m1
		want         int // member that receives
	}{
		{"first less loaded", 100, 900, 0},
		{"second less loaded", 900, 100, 1},
		{"tied loads: lower ID", 500, 500, 0},
	}
	where := []struct{ lat, lon float64 }{{48.8566, 2.3522}, {48.8570, 2.3525}, {40.7128, -74.006}, {35.6762, 139.6503}}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			b := New(Config{})
			sinks := make([]*countingSink, len(where))
			for i, w := range where {
				sinks[i] = &countingSink{}
				ep, err := b.Connect(EndpointInfo{ID: fmt.Sprint("m", i), HasLocation: true, Lat: w.lat, Lon: w.lon}, sinks[i])
				if err != nil {
					t.Fatal(err)
				}
				spec := SubSpec{SID: 1, Pattern: "orders.>", Scope: p.scope, Policy: route.Nearest}
				if p.scope == ScopeTopic {
					spec.Group = "g"
				}
				if err := b.Subscribe(ep, spec); err != nil {
					t.Fatal(err)
				}
				if p.scope == ScopeGroup {
					if err := b.Join(ep, "g"); err != nil {
						t.Fatal(err)
					}
				}
			}
			pub, err := b.Connect(EndpointInfo{ID: "pub", HasLocation: true, Lat: 48.8566, Lon: 2.3522}, &countingSink{})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range loads {
				sinks[0].set(l.near0)
				sinks[1].set(l.near1)
				sinks[2].set(0) // far and idle: never chosen, never asked
				sinks[3].set(0)
				if _, err := b.Publish(pub, &Message{Subject: []byte("orders.eu.created")}, p.target); err != nil {
					t.Fatal(err)
				}
				for i, s := range sinks {
					delivered, pending := s.counts()
					if want := btoi(i == l.want); delivered != want {
						t.Errorf("%s: m%d got %d messages, want %d", l.name, i, delivered, want)
					}
					if want := btoi(i < 2); pending != want {
						t.Errorf("%s: m%d's load read %d times, want %d", l.name, i, pending, want)
					}
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
