package broker

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/wire"
)

// loadSink is a recorder with a settable pending load.
type loadSink struct {
	recorder
	mu      sync.Mutex
	pending int
}

func (s *loadSink) Pending() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, s.pending * 100
}

func connectInfo(t *testing.T, b *Broker, info EndpointInfo) (*Endpoint, *loadSink) {
	t.Helper()
	s := &loadSink{}
	ep, err := b.Connect(info, s)
	if err != nil {
		t.Fatal(err)
	}
	return ep, s
}

func send(t *testing.T, b *Broker, from *Endpoint, subject string, target Target) int {
	t.Helper()
	return publish(t, b, from, subject, "x", target)
}

func TestMulticastGroupIPTV(t *testing.T) {
	b := newTestBroker()
	src, _ := connect(t, b, "src")
	var viewers []*Endpoint
	var recs []*recorder
	for i := range 5 {
		ep, r := connect(t, b, fmt.Sprint("tv", i))
		subscribe(t, b, ep, 1, ">", "", ScopeGroup)
		viewers, recs = append(viewers, ep), append(recs, r)
	}
	for _, ep := range viewers[:3] {
		if err := b.Join(ep, "channel.7"); err != nil {
			t.Fatal(err)
		}
	}
	mc := Target{Mode: ModeMulticast, To: []byte("channel.7")}
	if n := send(t, b, src, "video.frame", mc); n != 3 {
		t.Fatalf("multicast reached %d, want 3", n)
	}
	for i, r := range recs {
		want := map[bool]int{true: 1, false: 0}[i < 3]
		if got := len(r.messages()); got != want {
			t.Errorf("tv%d got %d, want %d", i, got, want)
		}
	}
	if err := b.Leave(viewers[0], "channel.7"); err != nil {
		t.Fatal(err)
	}
	if n := send(t, b, src, "video.frame", mc); n != 2 {
		t.Fatalf("after leave multicast reached %d, want 2", n)
	}
	b.Disconnect(viewers[1])
	if n := send(t, b, src, "video.frame", mc); n != 1 {
		t.Fatalf("after disconnect multicast reached %d, want 1", n)
	}
	if g := b.Groups(); len(g) != 1 || g[0].Name != "channel.7" || len(g[0].Members) != 1 {
		t.Fatalf("groups %+v", g)
	}
}

func TestMulticastBySelectorSubnet(t *testing.T) {
	b := newTestBroker()
	src, _ := connect(t, b, "src")
	ips := []string{"10.0.1.17", "10.0.1.200", "10.0.2.5", "10.0.2.9", "192.168.0.1"}
	var recs []*loadSink
	for i, ip := range ips {
		ep, r := connectInfo(t, b, EndpointInfo{ID: fmt.Sprint("cam", i), Labels: map[string]string{"type": "camera", "ip": ip}})
		subscribe(t, b, ep, 1, "cmd.>", "", ScopeInbox)
		recs = append(recs, r)
	}
	n := send(t, b, src, "cmd.snapshot", Target{Mode: ModeMulticast, Where: []byte("type=camera,subnet=10.0.1.0/24")})
	if n != 2 || len(recs[0].messages()) != 1 || len(recs[1].messages()) != 1 || len(recs[2].messages()) != 0 {
		t.Fatalf("subnet multicast reached %d", n)
	}
}

func TestBroadcastReachesEveryInbox(t *testing.T) {
	b := newTestBroker()
	src, _ := connect(t, b, "src")
	for i := range 10 {
		ep, _ := connect(t, b, fmt.Sprint("host", i))
		scope := ScopeInbox
		if i == 9 {
			scope = ScopeTopic // not listening for targeted sends
		}
		subscribe(t, b, ep, 1, "arp.>", "", scope)
		subscribe(t, b, ep, 2, ">", "", ScopeTopic)
	}
	if n := send(t, b, src, "arp.who-has", Target{Mode: ModeBroadcast}); n != 9 {
		t.Fatalf("broadcast reached %d, want 9 (one copy each)", n)
	}
}

func cdn(t *testing.T, b *Broker) map[string]*loadSink {
	t.Helper()
	sinks := map[string]*loadSink{}
	for _, e := range []EndpointInfo{
		{ID: "edge-fra", Region: "eu", HasLocation: true, Lat: 50.1109, Lon: 8.6821, Labels: map[string]string{"type": "edge"}},
		{ID: "edge-iad", Region: "us", HasLocation: true, Lat: 38.9519, Lon: -77.4480, Labels: map[string]string{"type": "edge"}},
		{ID: "edge-sin", Region: "ap", HasLocation: true, Lat: 1.3521, Lon: 103.8198, Labels: map[string]string{"type": "edge"}},
	} {
		ep, s := connectInfo(t, b, e)
		subscribe(t, b, ep, 1, "content.>", "", ScopeInbox)
		sinks[e.ID] = s
	}
	return sinks
}

func TestAnycastNearestCDN(t *testing.T) {
	b := newTestBroker()
	sinks := cdn(t, b)
	paris, _ := connectInfo(t, b, EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.8566, Lon: 2.3522})
	tokyo, _ := connectInfo(t, b, EndpointInfo{ID: "tokyo", HasLocation: true, Lat: 35.6762, Lon: 139.6503})
	near := Target{Mode: ModeAnycast, Where: []byte("type=edge"), Policy: route.Nearest}
	send(t, b, paris, "content.get", near)
	if len(sinks["edge-fra"].messages()) != 1 {
		t.Fatal("paris did not reach frankfurt")
	}
	fra, _ := b.Endpoint("edge-fra")
	b.Disconnect(fra)
	send(t, b, paris, "content.get", near)
	if len(sinks["edge-iad"].messages()) != 1 {
		t.Fatal("after frankfurt left, paris did not reach virginia")
	}
	send(t, b, tokyo, "content.get", near)
	if len(sinks["edge-sin"].messages()) != 1 {
		t.Fatal("tokyo did not reach singapore")
	}
	// An explicit point overrides the sender's location.
	send(t, b, tokyo, "content.get", Target{Mode: ModeAnycast, Policy: route.Nearest, HasNear: true, Lat: 40.7, Lon: -74})
	if len(sinks["edge-iad"].messages()) != 2 {
		t.Fatal("near New York did not reach virginia")
	}
}

func TestAnycastPolicies(t *testing.T) {
	b := newTestBroker()
	src, _ := connect(t, b, "src")
	var sinks []*loadSink
	for i := range 4 {
		ep, s := connectInfo(t, b, EndpointInfo{ID: fmt.Sprint("w", i), Labels: map[string]string{"role": "worker"}})
		subscribe(t, b, ep, 1, "job", "", ScopeInbox)
		sinks = append(sinks, s)
	}
	t.Run("round-robin", func(t *testing.T) {
		for range 4000 {
			send(t, b, src, "job", Target{Mode: ModeAnycast, Where: []byte("role=worker")})
		}
		for i, s := range sinks {
			if n := len(s.messages()); n != 1000 {
				t.Errorf("w%d got %d, want 1000", i, n)
			}
		}
	})
	t.Run("hash", func(t *testing.T) {
		owner := map[string]int{}
		for round := range 3 {
			for k := range 50 {
				before := counts(sinks)
				send(t, b, src, "job", Target{Mode: ModeAnycast, Policy: route.Hash, Key: []byte(fmt.Sprint("key", k))})
				got := changed(before, counts(sinks))
				if round == 0 {
					owner[fmt.Sprint(k)] = got
				} else if owner[fmt.Sprint(k)] != got {
					t.Fatalf("key%d moved from w%d to w%d", k, owner[fmt.Sprint(k)], got)
				}
			}
		}
	})
	t.Run("least-loaded", func(t *testing.T) {
		for i, s := range sinks {
			s.mu.Lock()
			s.pending = 10 + i
			s.mu.Unlock()
		}
		sinks[0].mu.Lock()
		sinks[0].pending = 0
		sinks[0].mu.Unlock()
		before := counts(sinks)
		send(t, b, src, "job", Target{Mode: ModeAnycast, Policy: route.LeastLoaded})
		if got := changed(before, counts(sinks)); got != 0 {
			t.Fatalf("least-loaded chose w%d, want the idle w0", got)
		}
	})
}

func counts(sinks []*loadSink) []int {
	out := make([]int, len(sinks))
	for i, s := range sinks {
		out[i] = len(s.messages())
	}
	return out
}

func changed(before, after []int) int {
	for i := range before {
		if after[i] != before[i] {
			return i
		}
	}
	return -1
}

func TestQueueGroupWithNearestPolicy(t *testing.T) {
	b := newTestBroker()
	sinks := map[string]*loadSink{}
	for _, e := range []EndpointInfo{
		{ID: "fra", HasLocation: true, Lat: 50.1109, Lon: 8.6821},
		{ID: "sin", HasLocation: true, Lat: 1.3521, Lon: 103.8198},
	} {
		ep, s := connectInfo(t, b, e)
		if err := b.Subscribe(ep, SubSpec{SID: 1, Pattern: "render", Group: "renderers", Policy: route.Nearest}); err != nil {
			t.Fatal(err)
		}
		sinks[e.ID] = s
	}
	tokyo, _ := connectInfo(t, b, EndpointInfo{ID: "tokyo", HasLocation: true, Lat: 35.6762, Lon: 139.6503})
	for range 5 {
		send(t, b, tokyo, "render", Target{})
	}
	if len(sinks["sin"].messages()) != 5 {
		t.Fatalf("queue group nearest: sin got %d of 5", len(sinks["sin"].messages()))
	}
}

func failoverBroker(t *testing.T) (*Broker, *clock.Fake) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return New(Config{Clock: fc, Rand: rand.New(rand.NewPCG(1, 1))}), fc
}

func TestAnycastFailover(t *testing.T) {
	b, fc := failoverBroker(t)
	sinks := cdn(t, b)
	paris, _ := connectInfo(t, b, EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.8566, Lon: 2.3522})
	req := func(reply string, timeout time.Duration) {
		t.Helper()
		_, err := b.Publish(paris, &Message{Subject: []byte("content.get"), Reply: []byte(reply), From: []byte("paris")},
			Target{Mode: ModeAnycast, Policy: route.Nearest, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("disconnect", func(t *testing.T) {
		req("_INBOX.paris.1", 0)
		fra, _ := b.Endpoint("edge-fra")
		b.Disconnect(fra)
		if len(sinks["edge-iad"].messages()) != 1 {
			t.Fatal("request not failed over to virginia when frankfurt left")
		}
		b.Publish(paris, &Message{Subject: []byte("_INBOX.paris.1")}, Target{}) // the reply ends tracking
		if n := b.failover.n.Load(); n != 0 {
			t.Fatalf("%d requests still tracked after the reply", n)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		req("_INBOX.paris.2", time.Second)
		fc.Advance(999 * time.Millisecond)
		if len(sinks["edge-sin"].messages()) != 0 {
			t.Fatal("failed over before the deadline")
		}
		fc.Advance(time.Millisecond)
		if len(sinks["edge-sin"].messages()) != 1 {
			t.Fatal("not failed over to singapore at the deadline")
		}
	})
	t.Run("declined", func(t *testing.T) {
		before := len(sinks["edge-sin"].messages())
		req("_INBOX.paris.3", 0) // virginia is nearest now
		decline := wire.AppendHeaders(nil, []wire.HeaderField{{Key: StatusHeader, Value: StatusDeclined}})
		iad, _ := b.Endpoint("edge-iad")
		b.Publish(iad, &Message{Subject: []byte("_INBOX.paris.3"), From: []byte("edge-iad"), Headers: decline}, Target{})
		if len(sinks["edge-sin"].messages()) != before+1 {
			t.Fatal("declined request not handed to singapore")
		}
		b.Publish(iad, &Message{Subject: []byte("_INBOX.paris.3"), From: []byte("edge-sin")}, Target{})
	})
	t.Run("exhausted", func(t *testing.T) {
		inbox, rec := connectInfo(t, b, EndpointInfo{ID: "asker"})
		subscribe(t, b, inbox, 1, "_INBOX.asker.*", "", 0)
		_, err := b.Publish(inbox, &Message{Subject: []byte("content.get"), Reply: []byte("_INBOX.asker.1")},
			Target{Mode: ModeAnycast, Policy: route.Nearest, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		fc.Advance(time.Second) // to the second candidate
		fc.Advance(time.Second) // none left: no responders
		got := rec.messages()
		if len(got) != 1 || got[0] != "1:_INBOX.asker.1:" {
			t.Fatalf("requester got %v, want one status message", got)
		}
		if b.Stats().Failovers < 3 {
			t.Fatalf("failovers counted: %d", b.Stats().Failovers)
		}
	})
}

func TestStatusHeaderEncoding(t *testing.T) {
	hs, err := wire.ParseHeaders(wire.AppendHeaders(nil, []wire.HeaderField{{Key: StatusHeader, Value: StatusNoResponders}}))
	if err != nil || hs[0].Value != StatusNoResponders {
		t.Fatal(hs, err)
	}
}

func TestSetMetaTakesEffectNextMessage(t *testing.T) {
	b := newTestBroker()
	src, _ := connect(t, b, "src")
	ep, r := connectInfo(t, b, EndpointInfo{ID: "dev", Labels: map[string]string{"type": "sensor"}})
	subscribe(t, b, ep, 1, ">", "", ScopeInbox)
	where := Target{Mode: ModeMulticast, Where: []byte("type=camera")}
	if n := send(t, b, src, "x", where); n != 0 {
		t.Fatal("sensor matched type=camera")
	}
	if err := b.SetMeta(ep, Meta{Labels: map[string]string{"type": "camera"}}); err != nil {
		t.Fatal(err)
	}
	if n := send(t, b, src, "x", where); n != 1 || len(r.messages()) != 1 {
		t.Fatal("relabelled endpoint not reached")
	}
	views, err := b.Endpoints([]byte("type=camera"))
	if err != nil || len(views) != 1 || views[0].ID != "dev" || views[0].Labels["type"] != "camera" {
		t.Fatalf("Endpoints = %+v, %v", views, err)
	}
}

func TestExplain(t *testing.T) {
	b := newTestBroker()
	cdn(t, b)
	paris, _ := connectInfo(t, b, EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.8566, Lon: 2.3522})
	ex, err := b.Explain(paris, []byte("content.get"), Target{Mode: ModeAnycast, Where: []byte("type=edge"), Policy: route.Nearest})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Chosen) != 1 || ex.Chosen[0] != "edge-fra" || ex.Reason == "" {
		t.Fatalf("explain chose %v (%s)", ex.Chosen, ex.Reason)
	}
	matched := 0
	for _, c := range ex.Candidates {
		if c.Matched && c.Subscribed {
			matched++
			if c.DistanceKm == nil || c.Rank == 0 {
				t.Fatalf("candidate %s lacks distance or rank", c.ID)
			}
		}
	}
	if matched != 3 {
		t.Fatalf("%d matched candidates, want 3", matched)
	}
}

func BenchmarkAnycastNearest1000(b *testing.B) {
	br := New(Config{})
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 1000 {
		ep, _ := br.Connect(EndpointInfo{ID: fmt.Sprint("e", i), HasLocation: true, Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180,
			Labels: map[string]string{"type": "edge"}}, nopSink{})
		subscribe(b, br, ep, 1, ">", "", ScopeInbox)
	}
	src, _ := br.Connect(EndpointInfo{ID: "src", HasLocation: true, Lat: 48.8566, Lon: 2.3522}, nopSink{})
	m := &Message{Subject: []byte("content.get"), Payload: make([]byte, 128)}
	t := Target{Mode: ModeAnycast, Where: []byte("type=edge"), Policy: route.Nearest}
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(src, m, t)
	}
}

func BenchmarkMulticastGroup1000(b *testing.B) {
	br := New(Config{})
	for i := range 1000 {
		ep, _ := br.Connect(EndpointInfo{ID: fmt.Sprint("m", i)}, nopSink{})
		subscribe(b, br, ep, 1, ">", "", ScopeGroup)
		br.Join(ep, "channel.7")
	}
	src, _ := br.Connect(EndpointInfo{ID: "src"}, nopSink{})
	m := &Message{Subject: []byte("video.frame"), Payload: make([]byte, 128)}
	t := Target{Mode: ModeMulticast, To: []byte("channel.7")}
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(src, m, t)
	}
}
