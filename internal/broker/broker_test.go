package broker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferrymq/ferry/internal/route"
)

// recorder is a Sink that keeps what it receives.
type recorder struct {
	mu      sync.Mutex
	got     []string // "sid:subject:payload"
	streams []StreamFrame
	refuse  bool
}

func (r *recorder) Stream(f *StreamFrame) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse {
		return false
	}
	c := *f
	c.Subject, c.From = slices.Clone(f.Subject), slices.Clone(f.From)
	c.Headers, c.Payload = slices.Clone(f.Headers), slices.Clone(f.Payload)
	r.streams = append(r.streams, c)
	return true
}

func (r *recorder) streamFrames() []StreamFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.streams)
}

func (r *recorder) Deliver(sid uint64, m *Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse {
		return false
	}
	r.got = append(r.got, fmt.Sprintf("%d:%s:%s", sid, m.Subject, m.Payload))
	return true
}

func (r *recorder) Pending() (int, int) { return 0, 0 }

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func newTestBroker() *Broker {
	return New(Config{Rand: rand.New(rand.NewPCG(1, 2)), MaxPayload: 100, MaxSubsPerConn: 3})
}

func connect(t *testing.T, b *Broker, id string) (*Endpoint, *recorder) {
	t.Helper()
	r := &recorder{}
	ep, err := b.Connect(EndpointInfo{ID: id}, r)
	if err != nil {
		t.Fatal(err)
	}
	return ep, r
}

func subscribe(t testing.TB, b *Broker, ep *Endpoint, sid uint64, pattern, group string, scope Scope) {
	t.Helper()
	if err := b.Subscribe(ep, SubSpec{SID: sid, Pattern: pattern, Group: group, Scope: scope}); err != nil {
		t.Fatal(err)
	}
}

func publish(t *testing.T, b *Broker, from *Endpoint, subject, payload string, target Target) int {
	t.Helper()
	n, err := b.Publish(from, &Message{Subject: []byte(subject), Payload: []byte(payload), From: []byte(from.ID())}, target)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFanOutAndWildcards(t *testing.T) {
	b := newTestBroker()
	pub, _ := connect(t, b, "pub")
	subs := map[string]string{"a": "orders.eu.created", "b": "orders.*.created", "c": "orders.>", "d": "orders.us.*"}
	recs := map[string]*recorder{}
	for id, p := range subs {
		ep, r := connect(t, b, id)
		subscribe(t, b, ep, 1, p, "", 0)
		recs[id] = r
	}
	if n := publish(t, b, pub, "orders.eu.created", "x", Target{}); n != 3 {
		t.Fatalf("reached %d, want 3", n)
	}
	for id, want := range map[string]int{"a": 1, "b": 1, "c": 1, "d": 0} {
		if got := len(recs[id].messages()); got != want {
			t.Errorf("%s (%s) got %d, want %d", id, subs[id], got, want)
		}
	}
}

func TestPublishOrder(t *testing.T) {
	b := newTestBroker()
	ep, r := connect(t, b, "s")
	subscribe(t, b, ep, 1, "x", "", 0)
	for i := range 100 {
		publish(t, b, ep, "x", fmt.Sprint(i), Target{})
	}
	for i, m := range r.messages() {
		if want := fmt.Sprintf("1:x:%d", i); m != want {
			t.Fatalf("message %d = %s, want %s", i, m, want)
		}
	}
}

func TestQueueGroupRoundRobin(t *testing.T) {
	b := newTestBroker()
	pub, _ := connect(t, b, "pub")
	var recs []*recorder
	for i := range 4 {
		ep, r := connect(t, b, fmt.Sprint("w", i))
		subscribe(t, b, ep, 1, "jobs", "workers", 0)
		recs = append(recs, r)
	}
	plain, plainRec := connect(t, b, "plain")
	subscribe(t, b, plain, 1, "jobs", "", 0)
	for range 400 {
		if n := publish(t, b, pub, "jobs", "j", Target{}); n != 2 {
			t.Fatalf("reached %d, want 2 (one group member and the plain subscriber)", n)
		}
	}
	for i, r := range recs {
		if got := len(r.messages()); got != 100 {
			t.Errorf("member %d got %d, want 100", i, got)
		}
	}
	if got := len(plainRec.messages()); got != 400 {
		t.Errorf("plain subscriber got %d, want 400", got)
	}
	recs[0].refuse = true // a member that cannot take messages is skipped
	for range 8 {
		publish(t, b, pub, "jobs", "j", Target{})
	}
	if got := len(recs[0].messages()); got != 100 {
		t.Errorf("refusing member got %d more", got-100)
	}
}

func TestUnicastReachesInboxOnly(t *testing.T) {
	b := newTestBroker()
	pub, _ := connect(t, b, "pub")
	ep, r := connect(t, b, "dst")
	subscribe(t, b, ep, 1, "cmd.>", "", ScopeTopic)
	if n := publish(t, b, pub, "cmd.reboot", "x", Target{Mode: ModeUnicast, To: []byte("dst")}); n != 0 {
		t.Fatalf("unicast reached a topic-only subscription")
	}
	subscribe(t, b, ep, 2, "cmd.*", "", ScopeInbox)
	subscribe(t, b, ep, 3, ">", "", ScopeInbox|ScopeTopic)
	if n := publish(t, b, pub, "cmd.reboot", "x", Target{Mode: ModeUnicast, To: []byte("dst")}); n != 1 {
		t.Fatalf("unicast reached %d, want 1", n)
	}
	if got := r.messages(); len(got) != 1 || got[0] != "2:cmd.reboot:x" {
		t.Fatalf("got %v, want one copy on the first matching inbox subscription", got)
	}
	if n := publish(t, b, pub, "cmd.reboot", "x", Target{Mode: ModeUnicast, To: []byte("nobody")}); n != 0 {
		t.Fatalf("unicast to unknown endpoint reached %d", n)
	}
}

func TestErrors(t *testing.T) {
	b := newTestBroker()
	ep, _ := connect(t, b, "e")
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"wildcard publish", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a.*")}, Target{})
			return err
		}, ErrInvalidSubject},
		{"payload", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a"), Payload: make([]byte, 101)}, Target{})
			return err
		}, ErrPayloadTooLarge},
		{"bad reply", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a"), Reply: []byte("a b")}, Target{})
			return err
		}, ErrInvalidSubject},
		{"unknown mode", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a")}, Target{Mode: 9})
			return err
		}, ErrInvalidTarget},
		{"bad selector", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a")}, Target{Mode: ModeBroadcast, Where: []byte("a=,")})
			return err
		}, ErrInvalidTarget},
		{"multicast without group or selector", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a")}, Target{Mode: ModeMulticast})
			return err
		}, ErrInvalidTarget},
		{"leave unjoined group", func() error { return b.Leave(ep, "g") }, ErrNotMember},
		{"bad label", func() error {
			return b.SetMeta(ep, Meta{Labels: map[string]string{"a b": "c"}})
		}, ErrInvalidMeta},
		{"bad location", func() error { return b.SetMeta(ep, Meta{HasLocation: true, Lat: 91}) }, ErrInvalidMeta},
		{"unicast without id", func() error {
			_, err := b.Publish(ep, &Message{Subject: []byte("a")}, Target{Mode: ModeUnicast})
			return err
		}, ErrInvalidTarget},
		{"bad pattern", func() error { return b.Subscribe(ep, SubSpec{SID: 9, Pattern: "a..b"}) }, ErrInvalidSubject},
		{"unknown sid", func() error { return b.Unsubscribe(ep, 42) }, ErrUnknownSID},
		{"id in use", func() error { _, err := b.Connect(EndpointInfo{ID: "e"}, &recorder{}); return err }, ErrIDInUse},
		{"invalid id", func() error { _, err := b.Connect(EndpointInfo{ID: "a.b"}, &recorder{}); return err }, ErrInvalidID},
		{"long id", func() error {
			_, err := b.Connect(EndpointInfo{ID: strings.Repeat("a", 65)}, &recorder{})
			return err
		}, ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSubscriptionLimitsAndDuplicates(t *testing.T) {
	b := newTestBroker()
	ep, _ := connect(t, b, "e")
	subscribe(t, b, ep, 1, "a", "", 0)
	if err := b.Subscribe(ep, SubSpec{SID: 1, Pattern: "b"}); !errors.Is(err, ErrDuplicateSID) {
		t.Fatalf("duplicate SID: %v", err)
	}
	subscribe(t, b, ep, 2, "b", "", 0)
	subscribe(t, b, ep, 3, "c", "", 0)
	if err := b.Subscribe(ep, SubSpec{SID: 4, Pattern: "d"}); !errors.Is(err, ErrTooManySubs) || !strings.Contains(err.Error(), "3") {
		t.Fatalf("limit: %v (want ErrTooManySubs naming the limit)", err)
	}
}

func TestDisconnectRemovesEverything(t *testing.T) {
	b := newTestBroker()
	pub, _ := connect(t, b, "pub")
	ep, r := connect(t, b, "gone")
	subscribe(t, b, ep, 1, "x", "", 0)
	subscribe(t, b, ep, 2, "x", "g", 0)
	subscribe(t, b, ep, 3, "x", "", ScopeInbox)
	b.Disconnect(ep)
	b.Disconnect(ep) // idempotent
	if n := publish(t, b, pub, "x", "1", Target{}); n != 0 {
		t.Fatalf("reached %d after disconnect", n)
	}
	if len(r.messages()) != 0 {
		t.Fatal("disconnected endpoint received")
	}
	if s := b.Stats(); s.Subscriptions != 0 || s.Endpoints != 1 {
		t.Fatalf("stats after disconnect: %+v", s)
	}
	if _, err := b.Connect(EndpointInfo{ID: "gone"}, &recorder{}); err != nil {
		t.Fatalf("ID not released: %v", err)
	}
}

func TestAssignedIDs(t *testing.T) {
	b := newTestBroker()
	seen := map[string]bool{}
	for range 100 {
		ep, err := b.Connect(EndpointInfo{}, &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateID(ep.ID()); err != nil || seen[ep.ID()] {
			t.Fatalf("assigned ID %q: valid=%v duplicate=%v", ep.ID(), err, seen[ep.ID()])
		}
		seen[ep.ID()] = true
	}
}

// nopSink accepts everything, for benchmarks.
type nopSink struct{}

func (nopSink) Deliver(uint64, *Message) bool { return true }
func (nopSink) Pending() (int, int)           { return 0, 0 }
func (nopSink) Stream(*StreamFrame) bool      { return true }

func BenchmarkPublishFanOut4(b *testing.B) {
	br := New(Config{})
	pub, _ := br.Connect(EndpointInfo{}, nopSink{})
	for i := range 4 {
		ep, _ := br.Connect(EndpointInfo{}, nopSink{})
		br.Subscribe(ep, SubSpec{SID: uint64(i), Pattern: "orders.>"})
	}
	m := &Message{Subject: []byte("orders.eu.created"), Payload: make([]byte, 128)}
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(pub, m, Target{})
	}
}

func TestPublishDoesNotAllocate(t *testing.T) {
	br := New(Config{})
	pub, _ := br.Connect(EndpointInfo{ID: "p"}, nopSink{})
	ep, _ := br.Connect(EndpointInfo{ID: "s"}, nopSink{})
	subscribe(t, br, ep, 1, "orders.>", "", 0)
	subscribe(t, br, ep, 2, "orders.*.created", "g", 0)
	subscribe(t, br, ep, 3, "orders.>", "", ScopeInbox)
	m := &Message{Subject: []byte("orders.eu.created"), Payload: make([]byte, 128)}
	for name, target := range map[string]Target{"publish": {}, "unicast": {Mode: ModeUnicast, To: []byte("s")}} {
		if a := testing.AllocsPerRun(1000, func() { br.Publish(pub, m, target) }); a != 0 {
			t.Errorf("%s allocates %.1f per message", name, a)
		}
	}
}

// TestStatsByMode checks that messages and bytes, in and out, are counted
// per routing mode and that the totals are their sums.
func TestStatsByMode(t *testing.T) {
	b := newTestBroker()
	a, _ := connect(t, b, "a")
	c, _ := connect(t, b, "c")
	subscribe(t, b, a, 1, "x.>", "", ScopeTopic|ScopeInbox)
	subscribe(t, b, c, 1, "x.>", "", ScopeTopic|ScopeInbox)
	publish(t, b, c, "x.1", "abc", Target{})                                               // 2 deliveries
	publish(t, b, c, "x.2", "abcd", Target{Mode: ModeUnicast, To: []byte("a")})            // 1
	publish(t, b, c, "x.3", "ab", Target{Mode: ModeBroadcast})                             // 2
	publish(t, b, c, "x.4", "a", Target{Mode: ModeAnycast, Policy: route.RoundRobin})      // 1
	publish(t, b, c, "nobody", "abcde", Target{Mode: ModeMulticast, Where: []byte("k=v")}) // 0
	st := b.Stats()
	want := [NumModes]ModeStats{
		ModePublish:   {MsgsIn: 1, BytesIn: 3, MsgsOut: 2, BytesOut: 6},
		ModeUnicast:   {MsgsIn: 1, BytesIn: 4, MsgsOut: 1, BytesOut: 4},
		ModeBroadcast: {MsgsIn: 1, BytesIn: 2, MsgsOut: 2, BytesOut: 4},
		ModeMulticast: {MsgsIn: 1, BytesIn: 5},
		ModeAnycast:   {MsgsIn: 1, BytesIn: 1, MsgsOut: 1, BytesOut: 1},
	}
	if st.ByMode != want {
		t.Fatalf("by mode %+v, want %+v", st.ByMode, want)
	}
	if st.MsgsIn != 5 || st.BytesIn != 15 || st.MsgsOut != 6 || st.BytesOut != 15 || st.MsgsInByMode != [NumModes]uint64{1, 1, 1, 1, 1} {
		t.Fatalf("totals %+v", st)
	}
}
