package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/internal/wire"
	"github.com/ferrymq/ferry/server"
)

// tally counts messages per receiving endpoint, and the payloads each saw.
type tally struct {
	mu   sync.Mutex
	n    map[string]int
	data map[string][]string
}

func newTally() *tally { return &tally{n: map[string]int{}, data: map[string][]string{}} }

// handler returns a handler that counts for endpoint id.
func (t *tally) handler(id string) func(*ferry.Msg) {
	return func(m *ferry.Msg) {
		t.mu.Lock()
		t.n[id]++
		t.data[id] = append(t.data[id], string(m.Data))
		t.mu.Unlock()
	}
}

func (t *tally) counts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.n)
}

func (t *tally) total() int {
	n := 0
	for _, k := range t.counts() {
		n += k
	}
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustSub(t *testing.T) func(*ferry.Subscription, error) {
	return func(_ *ferry.Subscription, err error) {
		t.Helper()
		must(t, err)
	}
}

// TestE2EMulticastIPTV: a multicast to a joined group reaches exactly its
// members, once each; leaving and disconnecting take effect for the next
// message.
func TestE2EMulticastIPTV(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	head := dial(t, s, ferry.WithID("headend"))
	got := newTally()
	tvs := map[string]*ferry.Conn{}
	for i := range 5 {
		id := fmt.Sprintf("tv-%d", i)
		tvs[id] = dial(t, s, ferry.WithID(id))
		mustSub(t)(tvs[id].HandleGroup(">", got.handler(id)))
		if i < 3 {
			must(t, tvs[id].Join(ctx, "channel.7"))
		}
	}
	send := func(frame string, want int) {
		t.Helper()
		n, err := head.SendMsg(ctx, &ferry.Msg{Subject: "video.frame", Data: []byte(frame), Target: ferry.Multicast("channel.7")})
		if err != nil || n != want {
			t.Fatalf("multicast %s reached %d, %v; want %d", frame, n, err, want)
		}
	}
	wantCounts := func(want map[string]int) {
		t.Helper()
		eventually(t, fmt.Sprint("counts ", want), func() bool { return got.total() == sumOf(want) })
		if c := got.counts(); !maps.Equal(c, want) {
			t.Fatalf("deliveries %v, want %v", c, want)
		}
	}

	send("f1", 3)
	wantCounts(map[string]int{"tv-0": 1, "tv-1": 1, "tv-2": 1})

	must(t, tvs["tv-0"].Leave(ctx, "channel.7"))
	if err := tvs["tv-0"].Leave(ctx, "channel.7"); !errors.Is(err, ferry.ErrNotMember) {
		t.Errorf("second Leave = %v, want ErrNotMember", err)
	}
	send("f2", 2)
	wantCounts(map[string]int{"tv-0": 1, "tv-1": 2, "tv-2": 2})

	tvs["tv-1"].Close()
	eventually(t, "tv-1 gone from the group", func() bool {
		gs, err := head.Groups(ctx)
		return err == nil && len(gs) == 1 && slices.Equal(gs[0].Members, []string{"tv-2"})
	})
	send("f3", 1)
	wantCounts(map[string]int{"tv-0": 1, "tv-1": 2, "tv-2": 3})
}

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestE2EMulticastSubnet: a selector multicast with a CIDR value reaches
// exactly the endpoints whose ip label is inside the prefix.
func TestE2EMulticastSubnet(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	got := newTally()
	hosts := map[string]string{"a1": "10.0.1.5", "a2": "10.0.1.77", "b1": "10.0.2.5", "b2": "10.0.2.9"}
	for id, ip := range hosts {
		nc := dial(t, s, ferry.WithID(id), ferry.WithLabels("ip", ip))
		mustSub(t)(nc.Handle(">", got.handler(id)))
	}
	admin := dial(t, s)
	n, err := admin.SendMsg(ctx, &ferry.Msg{Subject: "ops.reboot", Target: ferry.MulticastWhere("subnet=10.0.1.0/24")})
	if err != nil || n != 2 {
		t.Fatalf("multicast reached %d, %v; want 2", n, err)
	}
	eventually(t, "two deliveries", func() bool { return got.total() == 2 })
	if c := got.counts(); !maps.Equal(c, map[string]int{"a1": 1, "a2": 1}) {
		t.Fatalf("deliveries %v", c)
	}
	// A selector nobody matches reaches nobody.
	_, err = admin.SendMsg(ctx, &ferry.Msg{Subject: "ops.reboot", Target: ferry.MulticastWhere("subnet=10.9.0.0/16")})
	if !errors.Is(err, ferry.ErrNoResponders) {
		t.Errorf("multicast to an empty subnet = %v, want ErrNoResponders", err)
	}
}

// TestE2EBroadcastARP: a broadcast scatter-gather completes as soon as the
// one holder answered and the nine others declined.
func TestE2EBroadcastARP(t *testing.T) {
	s := ferrytest.New(t)
	for i := 1; i <= 10; i++ {
		ip := fmt.Sprintf("10.0.0.%d", i)
		nc := dial(t, s, ferry.WithID(fmt.Sprintf("host-%d", i)), ferry.WithLabels("ip", ip))
		mustSub(t)(nc.Respond("arp.who-has", func(m *ferry.Msg) []byte {
			if string(m.Data) != ip {
				return nil // declines
			}
			return []byte(nc.ID() + " is at " + ip)
		}))
	}
	asker := dial(t, s)
	ctx := timeout(t, 5*time.Second)
	start := time.Now()
	g, err := asker.RequestMany(ctx, &ferry.Msg{Subject: "arp.who-has", Data: []byte("10.0.0.7"), Target: ferry.Broadcast()})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Replies) != 1 || g.Replies[0].From != "host-7" || string(g.Replies[0].Data) != "host-7 is at 10.0.0.7" {
		t.Fatalf("replies %v", g.Replies)
	}
	if !g.Complete || g.Reached != 10 || g.Declined != 9 {
		t.Errorf("gather %+v, want complete, reached 10, declined 9", g)
	}
	if elapsed >= time.Second {
		t.Errorf("RequestMany took %v; it should end when everyone has spoken", elapsed)
	}
	// Nobody has the address: complete, no replies, no error.
	g, err = asker.RequestMany(ctx, &ferry.Msg{Subject: "arp.who-has", Data: []byte("10.0.0.99"), Target: ferry.Broadcast()})
	if err != nil || len(g.Replies) != 0 || !g.Complete || g.Declined != 10 {
		t.Errorf("unknown address: %+v, %v", g, err)
	}
	// A plain Request also stops at once when everyone declined.
	if _, err := asker.RequestMsg(ctx, &ferry.Msg{Subject: "arp.who-has", Data: []byte("10.0.0.99"), Target: ferry.Broadcast()}); !errors.Is(err, ferry.ErrNoResponders) {
		t.Errorf("Request that everyone declined = %v, want ErrNoResponders", err)
	}
}

type edge struct {
	id       string
	lat, lon float64
}

var edges = []edge{{"edge-fra", 50.1109, 8.6821}, {"edge-iad", 38.9519, -77.4480}, {"edge-sin", 1.3521, 103.8198}}

// startEdges connects the CDN edges, each answering content.get with its ID.
func startEdges(t *testing.T, s *ferrytest.Server) map[string]*ferry.Conn {
	conns := map[string]*ferry.Conn{}
	for _, e := range edges {
		nc := dial(t, s, ferry.WithID(e.id), ferry.WithLabels("type", "edge"), ferry.WithLocation(e.lat, e.lon))
		mustSub(t)(nc.Respond("content.get", func(*ferry.Msg) []byte { return []byte(nc.ID()) }))
		conns[e.id] = nc
	}
	return conns
}

var cdn = ferry.Anycast(ferry.Nearest).Where("type=edge")

func fetch(t *testing.T, ctx context.Context, nc *ferry.Conn) string {
	t.Helper()
	r, err := nc.RequestMsg(ctx, &ferry.Msg{Subject: "content.get", Data: []byte("/index.html"), Target: cdn})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Data) != r.From {
		t.Errorf("reply %q from %q", r.Data, r.From)
	}
	return r.From
}

// TestE2EAnycastCDN: nearest picks the closest edge to the requester; when
// it leaves, the next closest.
func TestE2EAnycastCDN(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	conns := startEdges(t, s)
	paris := dial(t, s, ferry.WithLocation(48.8566, 2.3522))
	if from := fetch(t, ctx, paris); from != "edge-fra" {
		t.Fatalf("Paris served by %s, want edge-fra", from)
	}
	conns["edge-fra"].Close()
	eventually(t, "edge-fra gone", func() bool {
		eps, err := paris.Endpoints(ctx, "type=edge")
		return err == nil && len(eps) == 2
	})
	if from := fetch(t, ctx, paris); from != "edge-iad" {
		t.Errorf("Paris without Frankfurt served by %s, want edge-iad", from)
	}
	tokyo := dial(t, s, ferry.WithLocation(35.6762, 139.6503))
	if from := fetch(t, ctx, tokyo); from != "edge-sin" {
		t.Errorf("Tokyo served by %s, want edge-sin", from)
	}
}

// workers connects n receivers labelled role=worker handling "job".
func workers(t *testing.T, s *ferrytest.Server, n int, got *tally) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("w-%d", i)
		nc := dial(t, s, ferry.WithID(id), ferry.WithLabels("role", "worker"))
		mustSub(t)(nc.Handle("job", got.handler(id)))
		ids = append(ids, id)
	}
	return ids
}

// TestE2EAnycastRoundRobin: 4000 sends rotate over 4 receivers exactly.
func TestE2EAnycastRoundRobin(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 30*time.Second)
	got := newTally()
	ids := workers(t, s, 4, got)
	sender := dial(t, s)
	target := ferry.Anycast(ferry.RoundRobin).Where("role=worker")
	for i := range 4000 {
		if n, err := sender.SendMsg(ctx, &ferry.Msg{Subject: "job", Target: target}); err != nil || n != 1 {
			t.Fatalf("send %d: %d, %v", i, n, err)
		}
	}
	eventually(t, "4000 jobs", func() bool { return got.total() == 4000 })
	for _, id := range ids {
		if n := got.counts()[id]; n != 1000 {
			t.Errorf("%s got %d jobs, want 1000 (all: %v)", id, n, got.counts())
		}
	}
}

// TestE2EAnycastHash: the same key always reaches the same receiver.
func TestE2EAnycastHash(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 30*time.Second)
	got := newTally()
	workers(t, s, 4, got)
	sender := dial(t, s)
	const keys, rounds = 50, 3
	for range rounds {
		for k := range keys {
			key := fmt.Sprintf("user-%d", k)
			m := &ferry.Msg{Subject: "job", Data: []byte(key), Target: ferry.Anycast(ferry.Hash).Where("role=worker").Key(key)}
			if _, err := sender.SendMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "all jobs", func() bool { return got.total() == keys*rounds })
	got.mu.Lock()
	defer got.mu.Unlock()
	owner := map[string]string{}
	for id, data := range got.data {
		for _, key := range data {
			if o, ok := owner[key]; ok && o != id {
				t.Errorf("key %s went to %s and %s", key, o, id)
			}
			owner[key] = id
		}
	}
	if len(owner) != keys {
		t.Errorf("%d keys seen, want %d", len(owner), keys)
	}
	if len(got.data) < 2 {
		t.Errorf("all keys on %d receiver(s): %v", len(got.data), got.n)
	}
}

// rawWorker connects by hand as an endpoint with labels and one inbox
// subscription on ">", and then never reads: the server queues for it.
func rawWorker(t *testing.T, s *ferrytest.Server, id string, labels ...wire.Label) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var out []byte
	out = (&wire.Connect{Version: wire.Version, ID: id, Labels: labels}).Append(out)
	out = (&wire.Sub{Ref: 1, SID: 1, Scope: wire.ScopeInbox, Pattern: []byte(">")}).Append(out)
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(nc, 4<<20)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []wire.Op{wire.OpInfo, wire.OpOk} {
		if op, _, err := r.Next(); err != nil || op != want {
			t.Fatalf("raw worker: got %v, %v; want %v", op, err, want)
		}
	}
	return nc
}

// TestE2EAnycastLeastLoaded: a receiver that does not read has bytes queued
// in the server, and least-loaded sends go to the others.
func TestE2EAnycastLeastLoaded(t *testing.T) {
	s := ferrytest.New(t, server.Options{MaxPending: 64 << 20, MaxPayload: 1 << 20, WriteTimeout: time.Minute})
	ctx := timeout(t, 30*time.Second)
	rawWorker(t, s, "a-stuck", wire.Label{Key: "role", Value: "worker"}) // sorts first by ID
	got := newTally()
	workers(t, s, 3, got)
	sender := dial(t, s)

	pending := func() int {
		eps, err := sender.Endpoints(ctx, "role=worker")
		must(t, err)
		for _, ep := range eps {
			if ep.ID == "a-stuck" {
				return ep.PendingBytes
			}
		}
		t.Fatal("a-stuck is gone")
		return 0
	}
	// Fill the stuck receiver's socket buffers and then the server's queue.
	chunk := make([]byte, 256<<10)
	sent := 0
	for sent < 48 || pending() == 0 {
		if sent == 200 {
			t.Fatalf("a-stuck has no pending bytes after %d MiB", sent/4)
		}
		if n, err := sender.SendMsg(ctx, &ferry.Msg{Subject: "fill", Data: chunk, Target: ferry.ToEndpoint("a-stuck")}); err != nil || n != 1 {
			t.Fatalf("fill %d: %d, %v", sent, n, err)
		}
		sent++
	}
	before := pending()
	t.Logf("a-stuck: %d MiB sent, %d bytes pending in the server", sent/4, before)

	ex, err := sender.Explain(ctx, "job", ferry.Anycast(ferry.LeastLoaded).Where("role=worker"))
	must(t, err)
	if slices.Contains(ex.Chosen, "a-stuck") {
		t.Fatalf("Explain chose the stuck receiver: %+v", ex)
	}
	for i := range 100 {
		m := &ferry.Msg{Subject: "job", Target: ferry.Anycast(ferry.LeastLoaded).Where("role=worker")}
		if n, err := sender.SendMsg(ctx, m); err != nil || n != 1 {
			t.Fatalf("send %d: %d, %v", i, n, err)
		}
	}
	eventually(t, "100 jobs at the reading receivers", func() bool { return got.total() == 100 })
	if after := pending(); after > before {
		t.Errorf("the stuck receiver's pending bytes grew from %d to %d", before, after)
	}
}

// settled waits until the server has fully processed what client sent so
// far: it handles one connection's frames in order, so after a Flush the
// anycast request the caller received is tracked for failover. Receivers
// below call it before declining or being cut, because the server starts
// tracking a request only after delivering it: a decline or disconnect
// that beats the tracking is not failed over (reported to the broker's
// owner).
func settled(t *testing.T, client *ferry.Conn) {
	if err := client.Flush(timeout(t, 5*time.Second)); err != nil {
		t.Error(err)
	}
}

// TestE2EAnycastFailover: an anycast request goes to the next candidate
// when the chosen one disconnects, misses its attempt timeout, or
// declines.
func TestE2EAnycastFailover(t *testing.T) {
	// The requester sits next to svc-near; svc-far is far away. nearFn
	// gets the requester's Conn.
	setup := func(t *testing.T, nearFn func(client *ferry.Conn, m *ferry.Msg) []byte) (*ferry.Conn, *ferry.Conn) {
		s := ferrytest.New(t)
		client := dial(t, s, ferry.WithLocation(50.1, 8.1))
		near := dial(t, s, ferry.WithID("svc-near"), ferry.WithLocation(50, 8))
		far := dial(t, s, ferry.WithID("svc-far"), ferry.WithLocation(-33, 151))
		mustSub(t)(near.Respond("svc", func(m *ferry.Msg) []byte { return nearFn(client, m) }))
		mustSub(t)(far.Respond("svc", func(*ferry.Msg) []byte { return []byte("far") }))
		return client, near
	}
	blocking := func(t *testing.T) (func(*ferry.Conn, *ferry.Msg) []byte, chan struct{}) {
		started, release := make(chan struct{}, 1), make(chan struct{})
		t.Cleanup(func() { close(release) })
		return func(client *ferry.Conn, _ *ferry.Msg) []byte {
			settled(t, client)
			started <- struct{}{}
			<-release
			return nil
		}, started
	}

	t.Run("disconnect", func(t *testing.T) {
		fn, started := blocking(t)
		client, near := setup(t, fn)
		type result struct {
			r   *ferry.Msg
			err error
		}
		done := make(chan result, 1)
		go func() {
			r, err := client.RequestMsg(timeout(t, 5*time.Second), &ferry.Msg{Subject: "svc", Target: ferry.Anycast(ferry.Nearest)})
			done <- result{r, err}
		}()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the nearest responder never got the request")
		}
		start := time.Now()
		near.Close()
		res := <-done
		if res.err != nil || res.r.From != "svc-far" || string(res.r.Data) != "far" {
			t.Fatalf("RequestMsg = %+v, %v", res.r, res.err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("failover took %v", d)
		}
	})

	t.Run("attempt timeout", func(t *testing.T) {
		fn, _ := blocking(t)
		client, _ := setup(t, fn)
		start := time.Now()
		r, err := client.RequestMsg(timeout(t, 5*time.Second), &ferry.Msg{Subject: "svc", Target: ferry.Anycast(ferry.Nearest).AttemptTimeout(200 * time.Millisecond)})
		if err != nil || r.From != "svc-far" {
			t.Fatalf("RequestMsg = %+v, %v", r, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("failover took %v", d)
		}
	})

	t.Run("decline", func(t *testing.T) {
		client, _ := setup(t, func(client *ferry.Conn, _ *ferry.Msg) []byte {
			settled(t, client)
			return nil // declines
		})
		start := time.Now()
		r, err := client.RequestMsg(timeout(t, 5*time.Second), &ferry.Msg{Subject: "svc", Target: ferry.Anycast(ferry.Nearest)})
		if err != nil || r.From != "svc-far" {
			t.Fatalf("RequestMsg = %+v, %v", r, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("failover on decline took %v", d)
		}
	})

	t.Run("all decline", func(t *testing.T) {
		s := ferrytest.New(t)
		client := dial(t, s)
		for _, id := range []string{"d1", "d2"} {
			nc := dial(t, s, ferry.WithID(id))
			mustSub(t)(nc.Respond("svc", func(*ferry.Msg) []byte {
				settled(t, client)
				return nil
			}))
		}
		ctx := timeout(t, 10*time.Second)
		start := time.Now()
		_, err := client.RequestMsg(ctx, &ferry.Msg{Subject: "svc", Target: ferry.Anycast(ferry.RoundRobin)})
		if !errors.Is(err, ferry.ErrNoResponders) {
			t.Fatalf("RequestMsg = %v, want ErrNoResponders", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})

	t.Run("single candidate declines", func(t *testing.T) {
		s := ferrytest.New(t)
		nc := dial(t, s, ferry.WithID("only"))
		mustSub(t)(nc.Respond("svc", func(*ferry.Msg) []byte { return nil }))
		client := dial(t, s)
		start := time.Now()
		_, err := client.RequestMsg(timeout(t, 10*time.Second), &ferry.Msg{Subject: "svc", Target: ferry.Anycast(ferry.Random)})
		if !errors.Is(err, ferry.ErrNoResponders) {
			t.Fatalf("RequestMsg = %v, want ErrNoResponders", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

// TestE2ESendAck: SendAck reports the endpoint that handled the message;
// a decline hands it to the next candidate.
func TestE2ESendAck(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	got := newTally()
	client := dial(t, s, ferry.WithLocation(50.1, 8.1))
	near := dial(t, s, ferry.WithID("task-near"), ferry.WithLocation(50, 8))
	far := dial(t, s, ferry.WithID("task-far"), ferry.WithLocation(-33, 151))
	mustSub(t)(near.Handle("task", func(m *ferry.Msg) {
		if string(m.Data) == "not me" {
			settled(t, client)
			m.Decline()
			return
		}
		got.handler("task-near")(m)
	}))
	mustSub(t)(far.Handle("task", got.handler("task-far")))
	target := ferry.Anycast(ferry.Nearest)
	from, err := client.SendAck(ctx, &ferry.Msg{Subject: "task", Data: []byte("t1"), Target: target})
	if err != nil || from != "task-near" {
		t.Fatalf("SendAck = %q, %v; want task-near", from, err)
	}
	if c := got.counts(); !maps.Equal(c, map[string]int{"task-near": 1}) {
		t.Errorf("handled %v before the ack", c)
	}
	from, err = client.SendAck(ctx, &ferry.Msg{Subject: "task", Data: []byte("not me"), Target: target})
	if err != nil || from != "task-far" {
		t.Fatalf("SendAck declined by the nearest = %q, %v; want task-far", from, err)
	}
}

// TestE2ESendAckSubscriptionKinds: every kind of subscription acknowledges.
func TestE2ESendAckSubscriptionKinds(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	recv := dial(t, s, ferry.WithID("recv"))
	noop := func(*ferry.Msg) {}
	mustSub(t)(recv.Subscribe("topic", noop))
	mustSub(t)(recv.Handle("inbox", noop))
	mustSub(t)(recv.HandleGroup("grp", noop))
	ch := make(chan *ferry.Msg, 1)
	mustSub(t)(recv.SubscribeChan("chan", ch))
	must(t, recv.Join(ctx, "team"))
	client := dial(t, s)
	for _, m := range []*ferry.Msg{
		{Subject: "topic"},
		{Subject: "inbox", Target: ferry.ToEndpoint("recv")},
		{Subject: "grp", Target: ferry.Multicast("team")},
		{Subject: "chan"},
	} {
		if from, err := client.SendAck(ctx, m); err != nil || from != "recv" {
			t.Errorf("SendAck %s to %v = %q, %v", m.Subject, m.Target, from, err)
		}
	}
	if m := <-ch; m.Subject != "chan" {
		t.Errorf("channel got %q", m.Subject)
	}
}

// TestE2EMetadataAndQueries: labels and locations set at run time take
// effect for the next message and show in the queries.
func TestE2EMetadataAndQueries(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	admin := dial(t, s)
	cam := dial(t, s, ferry.WithID("cam-1"), ferry.WithLabels("type", "sensor"))
	got := newTally()
	mustSub(t)(cam.Handle("cmd.>", got.handler("cam-1")))
	toCameras := &ferry.Msg{Subject: "cmd.snapshot", Target: ferry.MulticastWhere("type=camera")}
	if _, err := admin.SendMsg(ctx, toCameras); !errors.Is(err, ferry.ErrNoResponders) {
		t.Fatalf("multicast before relabelling = %v, want ErrNoResponders", err)
	}
	must(t, cam.SetLabels(ctx, "type", "camera", "zone", "lobby"))
	must(t, cam.SetRegion(ctx, "eu-west"))
	if l := cam.Labels(); !maps.Equal(l, map[string]string{"type": "camera", "zone": "lobby"}) {
		t.Errorf("Labels = %v", l)
	}
	if n, err := admin.SendMsg(ctx, toCameras); err != nil || n != 1 {
		t.Fatalf("multicast after relabelling reached %d, %v", n, err)
	}
	eventually(t, "camera got the command", func() bool { return got.total() == 1 })
	eps, err := admin.Endpoints(ctx, "type=camera")
	must(t, err)
	if len(eps) != 1 || eps[0].ID != "cam-1" || !maps.Equal(eps[0].Labels, map[string]string{"type": "camera", "zone": "lobby"}) || eps[0].Region != "eu-west" || eps[0].Subscriptions != 1 {
		t.Errorf("Endpoints(type=camera) = %+v", eps)
	}
	if err := cam.SetLabels(ctx, "type"); !errors.Is(err, ferry.ErrInvalidMeta) {
		t.Errorf("SetLabels with an odd count = %v, want ErrInvalidMeta", err)
	}
	if err := cam.SetLocation(ctx, 0, 200); !errors.Is(err, ferry.ErrInvalidMeta) {
		t.Errorf("SetLocation out of range = %v, want ErrInvalidMeta", err)
	}

	// Groups lists the members; Endpoints lists each one's groups.
	must(t, cam.Join(ctx, "floor.1"))
	must(t, admin.Join(ctx, "floor.1"))
	must(t, cam.Join(ctx, "all"))
	gs, err := admin.Groups(ctx)
	must(t, err)
	want := []ferry.GroupInfo{{Name: "all", Members: []string{"cam-1"}}, {Name: "floor.1", Members: slices.Sorted(slices.Values([]string{"cam-1", admin.ID()}))}}
	if fmt.Sprint(gs) != fmt.Sprint(want) {
		t.Errorf("Groups = %v, want %v", gs, want)
	}
	eps, err = admin.Endpoints(ctx, "zone=lobby")
	must(t, err)
	if len(eps) != 1 || !slices.Equal(eps[0].Groups, []string{"all", "floor.1"}) {
		t.Errorf("Endpoints(zone=lobby) = %+v", eps)
	}

	// Explain for the CDN; then move the requester and ask again.
	startEdges(t, s)
	client := dial(t, s, ferry.WithLocation(48.8566, 2.3522))
	ex, err := client.Explain(ctx, "content.get", cdn)
	must(t, err)
	if !slices.Equal(ex.Chosen, []string{"edge-fra"}) || ex.Mode != "anycast" || ex.Policy != "nearest" || ex.Origin == nil {
		t.Fatalf("Explain = %+v", ex)
	}
	for _, c := range ex.Candidates {
		if c.ID == "edge-fra" && (c.Rank != 1 || c.DistanceKm == nil || *c.DistanceKm > 500 || !c.Matched || !c.Subscribed) {
			t.Errorf("edge-fra candidate %+v", c)
		}
		if c.ID == "cam-1" && c.Matched {
			t.Errorf("cam-1 matched type=edge: %+v", c)
		}
	}
	must(t, client.SetLocation(ctx, 35.6762, 139.6503)) // to Tokyo
	ex, err = client.Explain(ctx, "content.get", cdn)
	must(t, err)
	if !slices.Equal(ex.Chosen, []string{"edge-sin"}) {
		t.Errorf("Explain from Tokyo chose %v", ex.Chosen)
	}
	if from := fetch(t, ctx, client); from != "edge-sin" {
		t.Errorf("request from Tokyo served by %s", from)
	}
}

// TestE2EMetaAndGroupsSurviveReconnect: after a server restart the endpoint
// has its labels, location and groups again.
func TestE2EMetaAndGroupsSurviveReconnect(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	var mu sync.Mutex
	var states []ferry.State
	nc := dial(t, s, ferry.WithID("roamer"), ferry.WithReconnectWait(5*time.Millisecond, 50*time.Millisecond),
		ferry.WithStateHandler(func(st ferry.State) { mu.Lock(); states = append(states, st); mu.Unlock() }))
	got := newTally()
	mustSub(t)(nc.HandleGroup(">", got.handler("roamer")))
	must(t, nc.Join(ctx, "news"))
	must(t, nc.SetLabels(ctx, "type", "phone"))
	must(t, nc.SetLocation(ctx, 1, 2))
	s.Restart(t)
	eventually(t, "reconnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) > 0 && states[len(states)-1] == ferry.StateReconnected
	})
	other := dial(t, s)
	eventually(t, "metadata and group restored", func() bool {
		eps, err := other.Endpoints(ctx, "type=phone")
		return err == nil && len(eps) == 1 && eps[0].Location != nil && *eps[0].Location == (ferry.Location{Lat: 1, Lon: 2}) &&
			slices.Equal(eps[0].Groups, []string{"news"}) && eps[0].Subscriptions >= 1
	})
	if n, err := other.SendMsg(ctx, &ferry.Msg{Subject: "headline", Target: ferry.Multicast("news")}); err != nil || n != 1 {
		t.Fatalf("multicast after reconnect reached %d, %v", n, err)
	}
	eventually(t, "delivered", func() bool { return got.total() == 1 })
}
