package broker

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/stream"
	"github.com/ferrymq/ferry/internal/wire"
)

func TestDecisionsBoundedNewestFirst(t *testing.T) {
	b := New(Config{Decisions: 4})
	src, _ := connect(t, b, "src")
	dst, _ := connect(t, b, "dst")
	subscribe(t, b, dst, 1, ">", "", ScopeInbox)
	publish(t, b, src, "plain", "x", Target{}) // plain publish: not a decision
	for i := range 10 {
		publish(t, b, src, fmt.Sprint("s", i), "x", Target{Mode: ModeUnicast, To: []byte("dst")})
	}
	ds := b.Decisions()
	if len(ds) != 4 {
		t.Fatalf("%d decisions kept, want 4", len(ds))
	}
	for i, d := range ds {
		want := fmt.Sprint("s", 9-i)
		if d.Subject != want || d.Mode != "unicast" || d.Sender != "src" || d.To != "dst" || d.Count != 1 || len(d.Chosen) != 1 || d.Chosen[0] != "dst" {
			t.Errorf("decision %d = %+v, want subject %s to dst", i, d, want)
		}
	}
	if off := New(Config{Decisions: -1}); off.Decisions() == nil || len(off.Decisions()) != 0 {
		t.Errorf("disabled ring: %v", off.Decisions())
	}
}

func TestDecisionReasons(t *testing.T) {
	b := newTestBroker()
	cdn(t, b)
	paris, _ := connectInfo(t, b, EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.8566, Lon: 2.3522})
	other, _ := connectInfo(t, b, EndpointInfo{ID: "other", Labels: map[string]string{"type": "origin"}})
	subscribe(t, b, other, 1, "content.>", "", ScopeInbox)
	for _, c := range []struct {
		name   string
		target Target
		count  int
		chosen string
		reason []string
	}{
		{"nearest", Target{Mode: ModeAnycast, Where: []byte("type=edge"), Policy: route.Nearest}, 1, "edge-fra",
			[]string{"selector matched 3 of 5", "nearest: edge-fra is 4", " km away", "(3 candidates)"}},
		{"least-loaded", Target{Mode: ModeAnycast, Where: []byte("type=edge"), Policy: route.LeastLoaded}, 1, "",
			[]string{"least-loaded: ", "fewest pending bytes (0)"}},
		{"multicast selector", Target{Mode: ModeMulticast, Where: []byte("type=edge")}, 3, "edge-fra",
			[]string{"selector matched 3 of 5", "multicast reaches every matching subscribed candidate: 3"}},
		{"broadcast", Target{Mode: ModeBroadcast}, 4, "edge-fra", []string{"broadcast reaches every matching subscribed candidate: 4"}},
		{"unicast missing", Target{Mode: ModeUnicast, To: []byte("nobody")}, 0, "", []string{`no endpoint "nobody" is connected`}},
		{"unicast not subscribed", Target{Mode: ModeUnicast, To: []byte("paris")}, 0, "", []string{"nobody matching has a subscription"}},
		{"multicast missing group", Target{Mode: ModeMulticast, To: []byte("ghosts")}, 0, "", []string{`no group "ghosts" exists`}},
		{"anycast missing group", Target{Mode: ModeAnycast, To: []byte("ghosts"), Policy: route.Random}, 0, "", []string{`no group "ghosts" exists`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			send(t, b, paris, "content.get", c.target)
			d := b.Decisions()[0]
			if d.Count != c.count || (c.chosen != "" && d.Chosen[0] != c.chosen) {
				t.Errorf("chosen %v (%d), want %d starting %s", d.Chosen, d.Count, c.count, c.chosen)
			}
			for _, r := range c.reason {
				if !strings.Contains(d.Reason, r) {
					t.Errorf("reason %q lacks %q", d.Reason, r)
				}
			}
		})
	}
}

func TestDecisionChosenBounded(t *testing.T) {
	b := newTestBroker()
	src, _ := connect(t, b, "src")
	for i := range 12 {
		ep, err := b.Connect(EndpointInfo{ID: fmt.Sprint("m", i)}, nopSink{})
		if err != nil {
			t.Fatal(err)
		}
		subscribe(t, b, ep, 1, ">", "", ScopeInbox)
	}
	publish(t, b, src, "hello", "x", Target{Mode: ModeBroadcast})
	if d := b.Decisions()[0]; d.Count != 12 || len(d.Chosen) != maxChosen {
		t.Fatalf("count %d, chosen %v: want 12 and %d IDs", d.Count, d.Chosen, maxChosen)
	}
}

func TestFailoverDecisionAndEvent(t *testing.T) {
	b, _ := failoverBroker(t)
	sinks := cdn(t, b)
	paris, _ := connectInfo(t, b, EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.8566, Lon: 2.3522})
	if _, err := b.Publish(paris, &Message{Subject: []byte("content.get"), Reply: []byte("_INBOX.p.1"), From: []byte("paris")},
		Target{Mode: ModeAnycast, Policy: route.Nearest}); err != nil {
		t.Fatal(err)
	}
	if d := b.Decisions()[0]; d.Chosen[0] != "edge-fra" || !strings.Contains(d.Reason, "nearest: edge-fra") {
		t.Fatalf("tracked request decision %+v", d)
	}
	decline := wire.AppendHeaders(nil, []wire.HeaderField{{Key: StatusHeader, Value: StatusDeclined}})
	fra, _ := b.Endpoint("edge-fra")
	b.Publish(fra, &Message{Subject: []byte("_INBOX.p.1"), From: []byte("edge-fra"), Headers: decline}, Target{})
	if len(sinks["edge-iad"].messages()) != 1 {
		t.Fatal("not failed over to virginia")
	}
	d := b.Decisions()[0]
	if d.Chosen[0] != "edge-iad" || d.Sender != "paris" || d.Policy != "nearest" ||
		!strings.Contains(d.Reason, "failover after decline from edge-fra") {
		t.Fatalf("failover decision %+v", d)
	}
	ev := b.Events()
	if len(ev) != 1 || ev[0].Kind != EventFailover || !strings.Contains(ev[0].Text, "from edge-fra to edge-iad after a decline") {
		t.Fatalf("events %+v", ev)
	}
}

func TestEventsBounded(t *testing.T) {
	b := New(Config{Events: 3})
	for i := range 5 {
		b.RecordEvent(EventDropped, fmt.Sprint(i))
	}
	b.CutSlowConsumer("cam-6", "write timeout")
	b.CutSlowConsumer("cam-7", "4 MiB pending")
	ev := b.Events()
	if len(ev) != 3 || ev[0].Text != "endpoint cam-7 cut as a slow consumer: 4 MiB pending" || ev[1].Kind != EventSlowConsumer || ev[2].Text != "4" {
		t.Fatalf("events %+v", ev)
	}
	if b.Stats().SlowConsumers != 2 {
		t.Fatal("slow consumer not counted")
	}
}

func TestTopSubjects(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := New(Config{Clock: fc, TrackedSubjects: 8})
	src, _ := connect(t, b, "src")
	for i := range 20 {
		for range i + 1 {
			publish(t, b, src, fmt.Sprint("subj.", i), "x", Target{})
		}
	}
	top := b.TopSubjects(100)
	if len(top) != 8 {
		t.Fatalf("%d subjects tracked, want 8: %+v", len(top), top)
	}
	if top[0].Subject != "subj.7" || top[0].Total != 8 || top[0].Rate != 0 {
		t.Fatalf("first read top %+v, want subj.7 with 8 and no rate yet", top[0])
	}
	fc.Advance(2 * time.Second)
	for range 10 {
		publish(t, b, src, "subj.0", "x", Target{})
	}
	// More than half full: the subjects quiet since the last read go.
	top = b.TopSubjects(2)
	if len(top) != 1 || top[0].Subject != "subj.0" || top[0].Rate != 5 || top[0].Total != 11 {
		t.Fatalf("second read %+v, want only subj.0 at 5/s", top)
	}
	// Reads within the rate window share the last result.
	publish(t, b, src, "subj.0", "x", Target{})
	if again := b.TopSubjects(1); again[0].Total != 11 {
		t.Fatalf("read within the window recomputed: %+v", again)
	}
	// The room is used by new subjects.
	publish(t, b, src, "fresh", "x", Target{})
	fc.Advance(2 * time.Second)
	found := false
	for _, s := range b.TopSubjects(100) {
		found = found || s.Subject == "fresh"
	}
	if !found {
		t.Fatal("a new subject was not tracked after quiet ones were dropped")
	}
}

func TestTopSubjectsSkipInboxes(t *testing.T) {
	b := New(Config{TrackedSubjects: 8})
	src, _ := connect(t, b, "src")
	for i := range 20 {
		publish(t, b, src, fmt.Sprint("_INBOX.src.", i), "reply", Target{})
	}
	publish(t, b, src, "orders.new", "x", Target{})
	if top := b.TopSubjects(100); len(top) != 1 || top[0].Subject != "orders.new" {
		t.Fatalf("top %+v, want only orders.new: replies to inboxes are not tracked", top)
	}
}

func TestStreamsView(t *testing.T) {
	b := newTestBroker()
	phone, _ := connect(t, b, "phone")
	d1, r1 := connect(t, b, "dash1")
	subscribe(t, b, d1, 1, "gps.>", "", ScopeStream)
	openTo(t, b, phone, StreamSpec{ID: 1, Subject: []byte("gps.phone1"), Flags: StreamCutSlow})
	s1 := frames(r1, StreamOpenKind)[0].Stream
	b.StreamCredit(d1, s1, stream.Credit{Msgs: 10, Bytes: 1000})
	for seq := uint64(1); seq <= 3; seq++ {
		if err := b.StreamData(phone, 1, seq, nil, []byte("abcd")); err != nil {
			t.Fatal(err)
		}
	}
	vs := b.Streams()
	if len(vs) != 1 {
		t.Fatalf("streams %+v", vs)
	}
	v := vs[0]
	if v.ID != 1 || v.Opener != "phone" || v.Subject != "gps.phone1" || v.Mode != "publish" || v.Channel || !v.CutSlow ||
		v.Messages != 3 || v.Bytes != 12 || v.Credit != (stream.Credit{Msgs: 7, Bytes: 988}) ||
		len(v.Receivers) != 1 || v.Receivers[0].ID != "dash1" {
		t.Fatalf("view %+v", v)
	}
	b.CloseStream(phone, 1, CloseEnd, "")
	if vs := b.Streams(); len(vs) != 0 {
		t.Fatalf("closed stream still listed: %+v", vs)
	}
}

func TestTargetedSendsDoNotAllocate(t *testing.T) {
	b := New(Config{Rand: rand.New(rand.NewPCG(1, 2))})
	pub, _ := b.Connect(EndpointInfo{ID: "p", HasLocation: true, Lat: 48.86, Lon: 2.35}, nopSink{})
	for i := range 3 {
		ep, _ := b.Connect(EndpointInfo{ID: fmt.Sprint("e", i), HasLocation: true, Lat: float64(i * 10), Lon: 0,
			Labels: map[string]string{"type": "edge"}}, nopSink{})
		subscribe(t, b, ep, 1, ">", "", ScopeInbox)
	}
	m := &Message{Subject: []byte("content.get"), Payload: make([]byte, 16)}
	for name, target := range map[string]Target{
		"anycast":   {Mode: ModeAnycast, Where: []byte("type=edge"), Policy: route.Nearest},
		"broadcast": {Mode: ModeBroadcast},
		"multicast": {Mode: ModeMulticast, Where: []byte("type=edge")},
	} {
		b.Publish(pub, m, target) // parse the selector once
		if raceEnabled && target.Mode == ModeAnycast {
			continue // its pooled scratch is dropped at random under -race
		}
		if a := testing.AllocsPerRun(1000, func() { b.Publish(pub, m, target) }); a != 0 {
			t.Errorf("%s allocates %.1f per message", name, a)
		}
	}
}

// TestTopSubjectsConcurrent publishes new subjects from several
// goroutines at once, with other new subjects promoting the fresh ones all
// the time: no message is lost when one goroutine promotes a subject while
// others count it.
func TestTopSubjectsConcurrent(t *testing.T) {
	b := New(Config{TrackedSubjects: 1 << 20})
	src, _ := connect(t, b, "src")
	const rounds, workers, each = 20, 4, 200
	for r := range rounds {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					b.Publish(src, &Message{Subject: []byte(fmt.Sprint("hot.", r))}, Target{})
					b.Publish(src, &Message{Subject: []byte(fmt.Sprint("cold.", r, ".", w, ".", i))}, Target{})
				}
			})
		}
		wg.Wait()
	}
	totals := map[string]uint64{}
	for _, s := range b.TopSubjects(1 << 20) {
		totals[s.Subject] = s.Total
	}
	for r := range rounds {
		if n := totals[fmt.Sprint("hot.", r)]; n != workers*each {
			t.Errorf("hot.%d counted %d times, want %d", r, n, workers*each)
		}
	}
	if len(totals) != rounds*(1+workers*each) {
		t.Errorf("%d subjects tracked, want %d", len(totals), rounds*(1+workers*each))
	}
}
