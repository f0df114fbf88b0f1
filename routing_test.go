package ferry

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

func TestWireTarget(t *testing.T) {
	cases := []struct {
		name string
		t    Target
		want wire.Target
	}{
		{"publish", Target{}, wire.Target{}},
		{"unicast", ToEndpoint("cam-1"), wire.Target{Mode: wire.ModeUnicast, To: []byte("cam-1")}},
		{"unicast where", ToEndpoint("cam-1").Where("type=camera"), wire.Target{Mode: wire.ModeUnicast, To: []byte("cam-1"), Where: []byte("type=camera")}},
		{"broadcast", Broadcast(), wire.Target{Mode: wire.ModeBroadcast}},
		{"broadcast where", Broadcast().Where("zone=a"), wire.Target{Mode: wire.ModeBroadcast, Where: []byte("zone=a")}},
		{"multicast group", Multicast("channel.7"), wire.Target{Mode: wire.ModeMulticast, To: []byte("channel.7")}},
		{"multicast selector", MulticastWhere("subnet=10.0.1.0/24"), wire.Target{Mode: wire.ModeMulticast, Where: []byte("subnet=10.0.1.0/24")}},
		{"anycast", Anycast(RoundRobin), wire.Target{Mode: wire.ModeAnycast}},
		{"anycast full", Anycast(Hash).Group("pool").Where("tier").Key("user-1").Near(48.85, 2.35).AttemptTimeout(250 * time.Millisecond),
			wire.Target{Mode: wire.ModeAnycast, To: []byte("pool"), Where: []byte("tier"), Policy: uint8(Hash), Key: []byte("user-1"),
				HasNear: true, Lat: 48.85, Lon: 2.35, TimeoutMillis: 250}},
		{"sub-millisecond timeout rounds up", Anycast(Nearest).AttemptTimeout(time.Microsecond), wire.Target{Mode: wire.ModeAnycast, Policy: uint8(Nearest), TimeoutMillis: 1}},
	}
	for _, tc := range cases {
		got, err := wireTarget(&tc.t)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: wire target %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestWireTargetInvalid(t *testing.T) {
	cases := map[string]Target{
		"unicast without ID":     ToEndpoint(""),
		"multicast without both": MulticastWhere(""),
		"broadcast with group":   Broadcast().Group("g"),
		"unknown policy":         Anycast(Policy(9)),
		"publish with selector":  Target{}.Where("type=x"),
		"near out of range":      Anycast(Nearest).Near(91, 0),
		"near NaN":               Anycast(Nearest).Near(math.NaN(), 0),
		"negative timeout":       Anycast(Nearest).AttemptTimeout(-time.Second),
		"wildcard group":         Multicast("channel.*"),
		"unknown mode":           {mode: Mode(9)},
	}
	for name, tg := range cases {
		if _, err := wireTarget(&tg); !errors.Is(err, ErrInvalidTarget) {
			t.Errorf("%s: err = %v, want ErrInvalidTarget", name, err)
		}
	}
	s := newFakeServer(t)
	c := connect(t, s)
	if err := c.PublishMsg(&Msg{Subject: "a", Target: MulticastWhere("")}); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("PublishMsg to an empty multicast = %v, want ErrInvalidTarget", err)
	}
}

// TestTargetReachesServer checks the PUB frame a targeted send produces.
func TestTargetReachesServer(t *testing.T) {
	s := newFakeServer(t)
	got := make(chan wire.Target, 1)
	s.set(func(s *fakeServer) {
		s.onPub = func(fc *fakeConn, p *wire.Pub) bool {
			tg := p.Target
			tg.To, tg.Where, tg.Key = slices.Clone(tg.To), slices.Clone(tg.Where), slices.Clone(tg.Key)
			got <- tg
			fc.send(&wire.Ok{Ref: p.Ref, Count: 2})
			return true
		}
	})
	c := connect(t, s)
	n, err := c.SendMsg(ctxTimeout(t, 5*time.Second), &Msg{Subject: "jobs", Target: Anycast(LeastLoaded).Where("role=worker").Key("k")})
	if err != nil || n != 2 {
		t.Fatalf("SendMsg = %d, %v", n, err)
	}
	want := wire.Target{Mode: wire.ModeAnycast, Policy: uint8(LeastLoaded), Where: []byte("role=worker"), Key: []byte("k")}
	if tg := <-got; !reflect.DeepEqual(tg, want) {
		t.Errorf("server saw %+v, want %+v", tg, want)
	}
}

func TestSubscriptionScopeAndPolicy(t *testing.T) {
	s := newFakeServer(t)
	var mu sync.Mutex
	subs := map[string]wire.Sub{}
	s.set(func(s *fakeServer) {
		s.onSub = func(sb *wire.Sub) *wire.Err {
			mu.Lock()
			subs[string(sb.Pattern)] = wire.Sub{Scope: sb.Scope, Group: slices.Clone(sb.Group), Policy: sb.Policy}
			mu.Unlock()
			return nil
		}
	})
	c := connect(t, s)
	noop := func(*Msg) {}
	mustSub := func(_ *Subscription, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustSub(c.HandleGroup("g", noop))
	mustSub(c.Subscribe("both", noop, WithScope(ScopeTopic|ScopeInbox)))
	mustSub(c.Handle("all", noop, WithScope(ScopeTopic|ScopeInbox|ScopeGroup)))
	mustSub(c.Subscribe("zero", noop, WithScope(0)))
	mustSub(c.Subscribe("q", noop, InGroup("workers"), WithPolicy(LeastLoaded)))
	want := map[string]wire.Sub{
		"g":    {Scope: wire.ScopeGroup, Group: []byte{}},
		"both": {Scope: wire.ScopeTopic | wire.ScopeInbox, Group: []byte{}},
		"all":  {Scope: wire.ScopeTopic | wire.ScopeInbox | wire.ScopeGroup, Group: []byte{}},
		"zero": {Scope: wire.ScopeTopic, Group: []byte{}},
		"q":    {Scope: wire.ScopeTopic, Group: []byte("workers"), Policy: uint8(LeastLoaded)},
	}
	mu.Lock()
	defer mu.Unlock()
	for p, w := range want {
		g := subs[p]
		if g.Scope != w.Scope || string(g.Group) != string(w.Group) || g.Policy != w.Policy {
			t.Errorf("SUB %s: scope %v group %q policy %d; want scope %v group %q policy %d", p, g.Scope, g.Group, g.Policy, w.Scope, w.Group, w.Policy)
		}
	}
	if _, err := c.Subscribe("bad", noop, WithScope(8)); !errors.Is(err, ErrBadSubscription) {
		t.Errorf("unknown scope bit = %v, want ErrBadSubscription", err)
	}
	if _, err := c.Subscribe("bad", noop, WithPolicy(Policy(7))); !errors.Is(err, ErrBadSubscription) {
		t.Errorf("unknown policy = %v, want ErrBadSubscription", err)
	}
	if wire.Scope(ScopeTopic) != wire.ScopeTopic || wire.Scope(ScopeInbox) != wire.ScopeInbox || wire.Scope(ScopeGroup) != wire.ScopeGroup {
		t.Error("scope values differ from the wire protocol's")
	}
	if got := (ScopeTopic | ScopeGroup).String(); got != "topic|group" {
		t.Errorf("Scope.String = %q", got)
	}
}

func TestMetaValidation(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, WithLabels("type", "camera"))
	ctx := ctxTimeout(t, 5*time.Second)
	bad := map[string]error{
		"odd count":       c.SetLabels(ctx, "type"),
		"empty key":       c.SetLabels(ctx, "", "x"),
		"key with =":      c.SetLabels(ctx, "a=b", "x"),
		"value with ,":    c.SetLabels(ctx, "a", "x,y"),
		"region space":    c.SetRegion(ctx, "eu west"),
		"latitude":        c.SetLocation(ctx, 90.5, 0),
		"longitude":       c.SetLocation(ctx, 0, -181),
		"NaN location":    c.SetLocation(ctx, math.NaN(), 0),
		"too many labels": c.SetLabels(ctx, manyLabels(65)...),
	}
	for name, err := range bad {
		if !errors.Is(err, ErrInvalidMeta) {
			t.Errorf("%s: %v, want ErrInvalidMeta", name, err)
		}
	}
	s.mu.Lock()
	n := len(s.metas)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("invalid metadata sent %d META frames", n)
	}
	if got := c.Labels(); !reflect.DeepEqual(got, map[string]string{"type": "camera"}) {
		t.Errorf("Labels after refusals = %v", got)
	}
}

func manyLabels(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
	}
	return kv
}

// TestMetaSendsFullSet checks that each change sends region, labels and
// location together, and that Labels returns a copy.
func TestMetaSendsFullSet(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, WithRegion("eu"), WithLocation(1, 2))
	ctx := ctxTimeout(t, 5*time.Second)
	if err := c.SetLabels(ctx, "type", "camera", "zone", "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRegion(ctx, "us"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLocation(ctx, 3, 4); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	metas := slices.Clone(s.metas)
	s.mu.Unlock()
	if len(metas) != 3 {
		t.Fatalf("got %d META frames, want 3", len(metas))
	}
	labels := []wire.Label{{Key: "type", Value: "camera"}, {Key: "zone", Value: "a"}}
	want := []wire.Meta{
		{Region: "eu", Labels: labels, HasLocation: true, Lat: 1, Lon: 2},
		{Region: "us", Labels: labels, HasLocation: true, Lat: 1, Lon: 2},
		{Region: "us", Labels: labels, HasLocation: true, Lat: 3, Lon: 4},
	}
	for i := range metas {
		metas[i].Ref = 0
		if !reflect.DeepEqual(metas[i], want[i]) {
			t.Errorf("META %d = %+v, want %+v", i, metas[i], want[i])
		}
	}
	l := c.Labels()
	l["type"] = "changed"
	if c.Labels()["type"] != "camera" {
		t.Error("Labels returned the Conn's own map")
	}
}

// TestReconnectRestoresGroupsAndMeta checks that a reconnect's CONNECT
// carries the metadata set since Connect and that joined groups are
// joined again.
func TestReconnectRestoresGroupsAndMeta(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), fastReconnect, WithLabels("old", "1"))...)
	ctx := ctxTimeout(t, 5*time.Second)
	for _, g := range []string{"b.group", "a.group", "left"} {
		if err := c.Join(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Leave(ctx, "left"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLabels(ctx, "type", "camera"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLocation(ctx, 10, 20); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	before := len(s.members)
	s.mu.Unlock()
	s.dropAll()
	waitFor(t, "StateReconnected", func() bool { return rec.hasState(StateReconnected) })
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cn := s.lastConnect()
	if !reflect.DeepEqual(cn.Labels, []wire.Label{{Key: "type", Value: "camera"}}) || !cn.HasLocation || cn.Lat != 10 || cn.Lon != 20 {
		t.Errorf("reconnect CONNECT = %+v", cn)
	}
	s.mu.Lock()
	var rejoined []string
	for _, m := range s.members[before:] {
		if m.Op != wire.OpJoin {
			t.Errorf("after reconnect: %v %s", m.Op, m.Group)
		}
		rejoined = append(rejoined, m.Group)
	}
	s.mu.Unlock()
	if !slices.Equal(rejoined, []string{"a.group", "b.group"}) {
		t.Errorf("re-joined %v, want [a.group b.group]", rejoined)
	}
}

func TestJoinLeaveErrors(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	ctx := ctxTimeout(t, 5*time.Second)
	if err := c.Join(ctx, "bad..name"); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("Join(bad..name) = %v, want ErrInvalidTarget", err)
	}
	if err := c.Join(ctx, "tv.>"); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("Join(wildcard) = %v, want ErrInvalidTarget", err)
	}
	// The server's ERR 111 maps to ErrNotMember.
	se := &ServerError{Code: uint16(wire.CodeNotMember), Message: "not a member"}
	if !errors.Is(se, ErrNotMember) {
		t.Error("ERR 111 does not match ErrNotMember")
	}
	if !errors.Is(&ServerError{Code: uint16(wire.CodeInvalidMeta)}, ErrInvalidMeta) {
		t.Error("ERR 110 does not match ErrInvalidMeta")
	}
}

func TestStatusAndDecline(t *testing.T) {
	m := &Msg{Header: Header{{StatusHeader, StatusDeclined}}}
	if m.Status() != "declined" {
		t.Errorf("Status = %q", m.Status())
	}
	if (&Msg{}).Status() != "" {
		t.Error("Status of a plain message is not empty")
	}
	if err := (&Msg{}).Decline(); !errors.Is(err, ErrNoReplyAddress) {
		t.Errorf("Decline without reply = %v, want ErrNoReplyAddress", err)
	}
}

// TestRequestAllDeclined: when every receiver reached declines, Request
// returns ErrNoResponders without waiting for its context.
func TestRequestAllDeclined(t *testing.T) {
	s := newFakeServer(t)
	client := connect(t, s)
	for range 2 {
		r := connect(t, s)
		if _, err := r.Respond("q", func(*Msg) []byte { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := client.Request(ctxTimeout(t, 10*time.Second), "q", nil); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Request = %v, want ErrNoResponders", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestRequestSkipsDeclines: a decline is not the answer; the other
// receiver's reply is, and its From names who answered.
func TestRequestSkipsDeclines(t *testing.T) {
	s := newFakeServer(t)
	client := connect(t, s)
	no, yes := connect(t, s), connect(t, s)
	declined := make(chan struct{})
	no.Respond("q", func(*Msg) []byte { defer close(declined); return nil })
	yes.Respond("q", func(*Msg) []byte { <-declined; return []byte("yes") })
	r, err := client.Request(ctxTimeout(t, 5*time.Second), "q", nil)
	if err != nil || string(r.Data) != "yes" || r.From != yes.ID() {
		t.Fatalf("Request = %+v, %v", r, err)
	}
}

// TestRequestNoRespondersStatus: the server's Ferry-Status: no-responders
// ends a request with ErrNoResponders.
func TestRequestNoRespondersStatus(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	s.set(func(s *fakeServer) {
		s.onPub = func(fc *fakeConn, p *wire.Pub) bool {
			if len(p.Reply) == 0 {
				return false
			}
			fc.send(&wire.Ok{Ref: p.Ref, Count: 1})
			s.mu.Lock()
			var sid uint64
			for id, sub := range fc.subs {
				if fakeMatch(sub.pattern, string(p.Reply)) {
					sid = id
				}
			}
			s.mu.Unlock()
			h := wire.AppendHeaders(nil, []wire.HeaderField{{Key: StatusHeader, Value: StatusNoResponders}})
			fc.write(wire.AppendMsg(nil, sid, p.Reply, nil, []byte(fc.id), wire.ModePublish, h, nil))
			return true
		}
	})
	if _, err := c.RequestMsg(ctxTimeout(t, 10*time.Second), &Msg{Subject: "svc", Target: Anycast(Nearest)}); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("RequestMsg = %v, want ErrNoResponders", err)
	}
}

// TestRequestManyFake covers completion, MaxReplies and QuietPeriod.
func TestRequestManyFake(t *testing.T) {
	s := newFakeServer(t)
	client := connect(t, s)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	for i := range 4 {
		r := connect(t, s)
		r.Respond("ask", func(m *Msg) []byte {
			switch {
			case i == 3 && string(m.Data) == "wait":
				<-release // never answers in time
				return nil
			case i == 0:
				return nil // declines
			}
			return []byte{byte('0' + i)}
		})
	}
	ctx := ctxTimeout(t, 10*time.Second)
	g, err := client.RequestMany(ctx, &Msg{Subject: "ask"})
	if err != nil || len(g.Replies) != 3 || g.Reached != 4 || g.Declined != 1 || !g.Complete {
		t.Fatalf("RequestMany = %+v, %v", g, err)
	}
	g, err = client.RequestMany(ctx, &Msg{Subject: "ask"}, MaxReplies(1))
	if err != nil || len(g.Replies) != 1 || g.Reached != 4 {
		t.Fatalf("RequestMany MaxReplies(1) = %+v, %v", g, err)
	}
	start := time.Now()
	g, err = client.RequestMany(ctx, &Msg{Subject: "ask", Data: []byte("wait")}, QuietPeriod(100*time.Millisecond))
	if err != nil || len(g.Replies) != 2 || g.Complete || g.Declined != 1 {
		t.Fatalf("RequestMany QuietPeriod = %+v, %v", g, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("QuietPeriod gather took %v", d)
	}
	short := ctxTimeout(t, 100*time.Millisecond)
	g, err = client.RequestMany(short, &Msg{Subject: "ask", Data: []byte("wait")})
	if err != nil || len(g.Replies) != 2 || g.Complete {
		t.Fatalf("RequestMany ending with ctx after replies = %+v, %v; want the replies and no error", g, err)
	}
	if _, err := client.RequestMany(ctx, &Msg{Subject: "nobody"}); !errors.Is(err, ErrNoResponders) {
		t.Errorf("RequestMany to nobody = %v, want ErrNoResponders", err)
	}
}

// TestSendAckFake: the receiving library acknowledges after the handler
// returns, for Subscribe and SubscribeChan, unless the handler responded.
func TestSendAckFake(t *testing.T) {
	s := newFakeServer(t)
	client := connect(t, s)
	recv := connect(t, s)
	var handled []string
	var mu sync.Mutex
	recv.Subscribe("task", func(m *Msg) { mu.Lock(); handled = append(handled, string(m.Data)); mu.Unlock() })
	ch := make(chan *Msg, 1)
	recv.SubscribeChan("chan", ch)
	recv.Subscribe("answered", func(m *Msg) { m.Respond([]byte("done")) })
	ctx := ctxTimeout(t, 5*time.Second)
	from, err := client.SendAck(ctx, &Msg{Subject: "task", Data: []byte("t1")})
	if err != nil || from != recv.ID() {
		t.Fatalf("SendAck = %q, %v; want %q", from, err, recv.ID())
	}
	mu.Lock()
	if !slices.Equal(handled, []string{"t1"}) {
		t.Errorf("handled %v before the ack", handled)
	}
	mu.Unlock()
	if from, err := client.SendAck(ctx, &Msg{Subject: "chan"}); err != nil || from != recv.ID() {
		t.Fatalf("SendAck to a channel = %q, %v", from, err)
	}
	if m := <-ch; m.Header.Get(ackHeader) != ackRequired {
		t.Errorf("channel message headers %v", m.Header)
	}
	// A handler that responds is not acknowledged on top: the reply is the
	// only message, so a Request sees the data.
	m := &Msg{Subject: "answered", Header: Header{{ackHeader, ackRequired}}}
	r, err := client.RequestMsg(ctx, m)
	if err != nil || string(r.Data) != "done" || r.Status() != "" {
		t.Fatalf("RequestMsg = %+v, %v", r, err)
	}
	// The caller's headers are not modified by SendAck.
	orig := &Msg{Subject: "task", Header: Header{{"k", "v"}}}
	if _, err := client.SendAck(ctx, orig); err != nil || len(orig.Header) != 1 {
		t.Errorf("SendAck modified the headers: %v, %v", orig.Header, err)
	}
}

func TestQueryFake(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	ex := Explanation{Mode: "anycast", Subject: "s", Policy: "nearest", Candidates: []Candidate{{ID: "a", Matched: true, Subscribed: true, Rank: 1}}, Chosen: []string{"a"}, Reason: "r"}
	js, _ := json.Marshal(ex)
	var sawWhere string
	s.set(func(s *fakeServer) {
		s.onQuery = func(q *wire.Query) ([]byte, *wire.Err) {
			switch q.Kind {
			case wire.QueryExplain:
				return js, nil
			case wire.QueryEndpoints:
				sawWhere = string(q.Where)
				return []byte(`[{"id":"cam-1","labels":{"type":"camera"},"location":{"lat":1,"lon":2},"subscriptions":2,"pending_msgs":3,"pending_bytes":4}]`), nil
			}
			return nil, &wire.Err{Code: wire.CodeInvalidTarget, Message: "bad selector"}
		}
	})
	ctx := ctxTimeout(t, 5*time.Second)
	got, err := c.Explain(ctx, "s", Anycast(Nearest))
	if err != nil || !reflect.DeepEqual(*got, ex) {
		t.Fatalf("Explain = %+v, %v", got, err)
	}
	eps, err := c.Endpoints(ctx, "type=camera")
	want := []EndpointInfo{{ID: "cam-1", Labels: map[string]string{"type": "camera"}, Location: &Location{1, 2}, Subscriptions: 2, PendingMsgs: 3, PendingBytes: 4}}
	if err != nil || !reflect.DeepEqual(eps, want) || sawWhere != "type=camera" {
		t.Fatalf("Endpoints = %+v, %v (where %q)", eps, err, sawWhere)
	}
	if _, err := c.Groups(ctx); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("Groups refused = %v, want ErrInvalidTarget", err)
	}
	if _, err := c.Explain(ctx, "s", Target{}); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("Explain of a plain publish = %v, want ErrInvalidTarget", err)
	}
	if _, err := c.Explain(ctx, "s.*", Broadcast()); !errors.Is(err, ErrInvalidSubject) {
		t.Errorf("Explain of a wildcard = %v, want ErrInvalidSubject", err)
	}
}
