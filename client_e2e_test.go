package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/server"
)

// dial connects to s and closes the connection when the test ends.
func dial(t *testing.T, s *ferrytest.Server, opts ...ferry.Option) *ferry.Conn {
	t.Helper()
	nc, err := ferry.Connect(s.URL(), opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// inbox collects messages for a test.
type inbox struct {
	mu   sync.Mutex
	msgs []*ferry.Msg
}

func (b *inbox) add(m *ferry.Msg) { b.mu.Lock(); b.msgs = append(b.msgs, m); b.mu.Unlock() }

func (b *inbox) len() int { b.mu.Lock(); defer b.mu.Unlock(); return len(b.msgs) }

func (b *inbox) subjects() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.msgs {
		out = append(out, m.Subject)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestE2EFanOut(t *testing.T) {
	s := ferrytest.New(t)
	pub := dial(t, s)
	boxes := make([]*inbox, 3)
	for i := range boxes {
		boxes[i] = &inbox{}
		nc := dial(t, s)
		if _, err := nc.Subscribe("tweets.>", boxes[i].add); err != nil {
			t.Fatal(err)
		}
	}
	n, err := pub.SendMsg(timeout(t, 5*time.Second), &ferry.Msg{Subject: "tweets.alice", Data: []byte("hi")})
	if err != nil || n != 3 {
		t.Fatalf("SendMsg reached %d, %v; want 3", n, err)
	}
	for i, b := range boxes {
		eventually(t, fmt.Sprintf("subscriber %d", i), func() bool { return b.len() == 1 })
		if m := b.msgs[0]; string(m.Data) != "hi" || m.From != pub.ID() {
			t.Errorf("subscriber %d got %q from %q", i, m.Data, m.From)
		}
	}
}

func TestE2EWildcards(t *testing.T) {
	s := ferrytest.New(t)
	nc := dial(t, s)
	patterns := []string{"orders.*", "orders.>", "orders.*.created", ">", "orders.eu"}
	boxes := map[string]*inbox{}
	for _, p := range patterns {
		boxes[p] = &inbox{}
		if _, err := nc.Subscribe(p, boxes[p].add); err != nil {
			t.Fatalf("Subscribe(%q): %v", p, err)
		}
	}
	for _, subj := range []string{"orders.eu", "orders.eu.created", "orders.us.created.late", "other"} {
		if err := nc.Publish(subj, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"orders.*":         "orders.eu",
		"orders.>":         "orders.eu orders.eu.created orders.us.created.late",
		"orders.*.created": "orders.eu.created",
		">":                "orders.eu orders.eu.created orders.us.created.late other",
		"orders.eu":        "orders.eu",
	}
	for p, w := range want {
		eventually(t, p, func() bool { return boxes[p].len() == len(strings.Fields(w)) })
		if got := strings.Join(boxes[p].subjects(), " "); got != w {
			t.Errorf("%s got %q, want %q", p, got, w)
		}
	}
}

func TestE2EQueueGroup(t *testing.T) {
	s := ferrytest.New(t)
	pub := dial(t, s)
	var mu sync.Mutex
	seen := map[string]int{}
	perMember := make([]int, 3)
	for i := range perMember {
		nc := dial(t, s)
		_, err := nc.QueueSubscribe("jobs", "workers", func(m *ferry.Msg) {
			mu.Lock()
			seen[string(m.Data)]++
			perMember[i]++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const n = 300
	for i := range n {
		pub.Publish("jobs", fmt.Appendf(nil, "job-%d", i))
	}
	eventually(t, "all jobs", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n })
	if err := pub.Flush(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for job, k := range seen {
		if k != 1 {
			t.Errorf("%s delivered %d times", job, k)
		}
	}
	for i, k := range perMember {
		if k == 0 {
			t.Errorf("member %d got no job: %v", i, perMember)
		}
	}
}

func TestE2EUnicastSend(t *testing.T) {
	s := ferrytest.New(t)
	sender, cam := dial(t, s), dial(t, s, ferry.WithID("cam-1"))
	got := make(chan *ferry.Msg, 1)
	if _, err := cam.Handle("cmd.>", func(m *ferry.Msg) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(timeout(t, 5*time.Second), "cam-1", "cmd.zoom", []byte("2x")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Mode != ferry.ModeUnicast || m.From != sender.ID() || string(m.Data) != "2x" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
	if err := sender.Send(timeout(t, 5*time.Second), "cam-2", "cmd.zoom", nil); !errors.Is(err, ferry.ErrNoResponders) {
		t.Errorf("Send to a missing endpoint = %v, want ErrNoResponders", err)
	}
}

func TestE2ERequestReply(t *testing.T) {
	s := ferrytest.New(t)
	client, svc := dial(t, s), dial(t, s, ferry.WithID("svc"))
	if _, err := svc.Respond("math.double", func(m *ferry.Msg) []byte { return append(m.Data, m.Data...) }); err != nil {
		t.Fatal(err)
	}
	r, err := client.Request(timeout(t, 5*time.Second), "math.double", []byte("ab"))
	if err != nil || string(r.Data) != "abab" {
		t.Fatalf("Request = %v, %v", r, err)
	}
	// The same responder answers requests sent to its endpoint.
	r, err = client.RequestMsg(timeout(t, 5*time.Second), &ferry.Msg{Subject: "math.double", Data: []byte("c"), Target: ferry.ToEndpoint("svc")})
	if err != nil || string(r.Data) != "cc" {
		t.Fatalf("RequestMsg to endpoint = %v, %v", r, err)
	}
}

func TestE2ENoResponders(t *testing.T) {
	s := ferrytest.New(t)
	nc := dial(t, s)
	start := time.Now()
	if _, err := nc.Request(timeout(t, 10*time.Second), "nobody", nil); !errors.Is(err, ferry.ErrNoResponders) {
		t.Fatalf("Request = %v, want ErrNoResponders", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestE2EReconnect(t *testing.T) {
	s := ferrytest.New(t)
	var mu sync.Mutex
	var states []ferry.State
	nc := dial(t, s, ferry.WithID("survivor"), ferry.WithReconnectWait(5*time.Millisecond, 50*time.Millisecond),
		ferry.WithStateHandler(func(st ferry.State) { mu.Lock(); states = append(states, st); mu.Unlock() }))
	got := &inbox{}
	if _, err := nc.Subscribe("news", got.add); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Handle("direct", got.add); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	eventually(t, "reconnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) > 0 && states[len(states)-1] == ferry.StateReconnected
	})
	if nc.ID() != "survivor" {
		t.Errorf("ID after reconnect = %q", nc.ID())
	}
	other := dial(t, s)
	if n, err := other.SendMsg(timeout(t, 5*time.Second), &ferry.Msg{Subject: "news"}); err != nil || n != 1 {
		t.Fatalf("publish after restart reached %d, %v; want 1", n, err)
	}
	if err := other.Send(timeout(t, 5*time.Second), "survivor", "direct", nil); err != nil {
		t.Fatalf("unicast to the reconnected endpoint: %v", err)
	}
	eventually(t, "both messages", func() bool { return got.len() == 2 })
}

func TestE2EIDInUse(t *testing.T) {
	s := ferrytest.New(t)
	dial(t, s, ferry.WithID("only-one"))
	_, err := ferry.Connect(s.URL(), ferry.WithID("only-one"))
	var se *ferry.ServerError
	if !errors.Is(err, ferry.ErrIDInUse) || !errors.As(err, &se) {
		t.Fatalf("Connect = %v, want a *ServerError matching ErrIDInUse", err)
	}
}

func TestE2EServerLimits(t *testing.T) {
	s := ferrytest.New(t, server.Options{MaxPayload: 64, MaxSubjectBytes: 16})
	nc := dial(t, s)
	if err := nc.Publish("a", make([]byte, 65)); !errors.Is(err, ferry.ErrPayloadTooLarge) {
		t.Errorf("Publish over MaxPayload = %v, want ErrPayloadTooLarge", err)
	}
	_, err := nc.Subscribe("a.very.long.pattern.>", func(*ferry.Msg) {})
	var se *ferry.ServerError
	if !errors.Is(err, ferry.ErrInvalidSubject) || !errors.As(err, &se) {
		t.Errorf("Subscribe over MaxSubjectBytes = %v, want a *ServerError matching ErrInvalidSubject", err)
	}
}
