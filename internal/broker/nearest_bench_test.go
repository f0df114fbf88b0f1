package broker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ferrymq/ferry/internal/route"
)

// lockSink accepts everything and, like the native gateway, takes a mutex
// to report its load.
type lockSink struct {
	mu          sync.Mutex
	msgs, bytes int
}

func (s *lockSink) Deliver(uint64, *Message) bool { return true }
func (s *lockSink) Stream(*StreamFrame) bool      { return true }
func (s *lockSink) Pending() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs, s.bytes
}

// nearestFour connects a publisher in Paris and four members: two at the
// publisher's location (tied on distance) and two far away, each
// subscribed with scope and joined to group "g" when scope is ScopeGroup.
func nearestFour(b *testing.B, policy route.Policy, scope Scope) (*Broker, *Endpoint) {
	br := New(Config{})
	where := []struct{ lat, lon float64 }{{48.8566, 2.3522}, {48.8566, 2.3522}, {40.7128, -74.006}, {35.6762, 139.6503}}
	for i, w := range where {
		ep, _ := br.Connect(EndpointInfo{ID: fmt.Sprint("m", i), HasLocation: true, Lat: w.lat, Lon: w.lon}, &lockSink{})
		spec := SubSpec{SID: 1, Pattern: "orders.>", Scope: scope, Policy: policy}
		if scope == ScopeTopic {
			spec.Group = "g"
		}
		if err := br.Subscribe(ep, spec); err != nil {
			b.Fatal(err)
		}
		if scope == ScopeGroup {
			br.Join(ep, "g")
		}
	}
	pub, _ := br.Connect(EndpointInfo{ID: "pub", HasLocation: true, Lat: 48.8566, Lon: 2.3522}, &lockSink{})
	return br, pub
}

// BenchmarkSharedNearest4 is a queue group of four with a routing policy,
// as in the bench tool's shared/nearest scenario.
func BenchmarkSharedNearest4(b *testing.B) {
	for _, p := range []route.Policy{route.Nearest, route.LeastLoaded} {
		b.Run(p.String(), func(b *testing.B) {
			br, pub := nearestFour(b, p, ScopeTopic)
			m := &Message{Subject: []byte("orders.eu.created"), Payload: make([]byte, 16)}
			b.ReportAllocs()
			for b.Loop() {
				br.Publish(pub, m, Target{})
			}
		})
	}
}

// BenchmarkAnycastGroupNearest4 sends anycast to a group of four; the
// request variant is tracked for failover and so ranks every candidate.
func BenchmarkAnycastGroupNearest4(b *testing.B) {
	for _, bb := range []struct {
		name  string
		reply string
	}{{"send", ""}, {"request", "_INBOX.r"}} {
		b.Run(bb.name, func(b *testing.B) {
			br, pub := nearestFour(b, route.Nearest, ScopeGroup)
			m := &Message{Subject: []byte("orders.eu.created"), Reply: []byte(bb.reply), Payload: make([]byte, 16)}
			t := Target{Mode: ModeAnycast, To: []byte("g"), Policy: route.Nearest}
			b.ReportAllocs()
			for b.Loop() {
				br.Publish(pub, m, t)
			}
		})
	}
}
