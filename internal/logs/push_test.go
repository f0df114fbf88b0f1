package logs_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/wire"
)

// pushEnv is a manager whose push deliveries land in a recorder that
// reports `reach` receivers.
type pushEnv struct {
	t     *testing.T
	dir   string
	clk   *clock.Fake
	m     *logs.Manager
	reach atomic.Int64 // receivers each delivery reports

	mu    sync.Mutex // guards out, tries
	out   []published
	tries int
	cond  chan struct{} // closed and replaced on every attempt
}

func newPushEnv(t *testing.T, dir string) *pushEnv {
	t.Helper()
	p := &pushEnv{t: t, dir: dir, clk: clock.NewFake(t0), cond: make(chan struct{})}
	p.reach.Store(1)
	p.open()
	return p
}

func (p *pushEnv) open() {
	p.t.Helper()
	m, err := logs.Open(logs.Config{Dir: p.dir, Clock: p.clk, Deliver: p.deliver})
	if err != nil {
		p.t.Fatalf("Open: %v", err)
	}
	p.m = m
	p.t.Cleanup(func() { m.Close() })
}

func (p *pushEnv) reopen() {
	p.t.Helper()
	if err := p.m.Close(); err != nil {
		p.t.Fatalf("Close: %v", err)
	}
	p.open()
}

func (p *pushEnv) deliver(subj string, hdr, payload []byte) (int, error) {
	hs, err := wire.ParseHeaders(hdr)
	if err != nil {
		p.t.Errorf("deliver %s: bad headers: %v", subj, err)
	}
	n := int(p.reach.Load())
	pub := published{Subject: subj, Headers: map[string]string{}, Payload: string(payload)}
	for _, h := range hs {
		pub.Headers[h.Key] = h.Value
	}
	p.mu.Lock()
	p.tries++
	if n > 0 {
		p.out = append(p.out, pub)
	}
	close(p.cond)
	p.cond = make(chan struct{})
	p.mu.Unlock()
	return n, nil
}

// waitFor waits until ok holds for the deliveries so far and the attempts.
func (p *pushEnv) waitFor(what string, ok func(out []published, tries int) bool) []published {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		out, tries, ch := append([]published(nil), p.out...), p.tries, p.cond
		p.mu.Unlock()
		if ok(out, tries) {
			return out
		}
		select {
		case <-ch:
		case <-deadline:
			p.t.Fatalf("timed out waiting for %s; delivered %d, %d attempts", what, len(out), tries)
		}
	}
}

func (p *pushEnv) waitN(n int) []published {
	p.t.Helper()
	return p.waitFor(fmt.Sprintf("%d deliveries", n), func(out []published, _ int) bool { return len(out) >= n })
}

func (p *pushEnv) create(name, pattern string) {
	p.t.Helper()
	if err := p.m.Create(logs.LogConfig{Name: name, Subjects: []string{pattern}}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pushEnv) appendN(subj string, from, n int) {
	p.t.Helper()
	for i := from; i < from+n; i++ {
		hdr := wire.AppendHeaders(nil, []wire.HeaderField{{Key: "K", Value: strconv.Itoa(i)}, {Key: logs.HeaderSeq, Value: "spoofed"}})
		if _, err := p.m.Append(context.Background(), subj, hdr, fmt.Appendf(nil, "p%d", i), ""); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *pushEnv) consumer(cfg logs.ConsumerConfig) *logs.Consumer {
	p.t.Helper()
	c, err := p.m.Consumer(cfg)
	if err != nil {
		p.t.Fatalf("Consumer: %v", err)
	}
	return c
}

func pushedSeq(t *testing.T, pub published) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(pub.Headers[logs.HeaderSeq], 10, 64)
	if err != nil {
		t.Fatalf("delivery %+v: %s: %v", pub, logs.HeaderSeq, err)
	}
	return n
}

func TestPushDeliversInOrderWithHeaders(t *testing.T) {
	p := newPushEnv(t, "")
	p.create("orders", "orders.*")
	p.consumer(logs.ConsumerConfig{Log: "orders", Name: "mail", DeliverSubject: "deliver.mail"})
	p.appendN("orders.new", 1, 5)
	out := p.waitN(5)
	for i, pub := range out {
		want := map[string]string{
			"K": strconv.Itoa(i + 1), logs.HeaderLog: "orders", logs.HeaderSeq: strconv.Itoa(i + 1),
			logs.HeaderConsumer: "mail", logs.HeaderDeliveries: "1", logs.HeaderSubject: "orders.new",
		}
		if pub.Subject != "deliver.mail" || pub.Payload != fmt.Sprintf("p%d", i+1) {
			t.Errorf("delivery %d: %s %q", i, pub.Subject, pub.Payload)
		}
		for k, v := range want {
			if pub.Headers[k] != v {
				t.Errorf("delivery %d: header %s = %q, want %q", i, k, pub.Headers[k], v)
			}
		}
		if ts, err := time.Parse(time.RFC3339Nano, pub.Headers[logs.HeaderTime]); err != nil || !ts.Equal(t0) {
			t.Errorf("delivery %d: %s = %q (%v)", i, logs.HeaderTime, pub.Headers[logs.HeaderTime], err)
		}
	}
}

func TestPushMaxAckPending(t *testing.T) {
	const limit = 3
	p := newPushEnv(t, "")
	p.create("jobs", "jobs.*")
	c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", MaxAckPending: limit, AckWait: time.Hour})
	p.appendN("jobs.x", 1, 10)
	out := p.waitN(limit)
	check := func(acked int) {
		t.Helper()
		in := c.Info()
		if in.Pending > limit || int(in.Delivered) > limit+acked {
			t.Fatalf("after %d acks: %+v, cap %d", acked, in, limit)
		}
	}
	check(0)
	p.appendN("jobs.x", 11, 2) // wakes the pusher: it must stay at the cap
	check(0)
	for acked := 1; acked <= 7; acked++ {
		if err := c.AckSeq(pushedSeq(t, out[acked-1])); err != nil {
			t.Fatal(err)
		}
		out = p.waitN(limit + acked)
		check(acked)
	}
	for i, pub := range out {
		if pushedSeq(t, pub) != uint64(i+1) {
			t.Fatalf("delivery %d is seq %d", i, pushedSeq(t, pub))
		}
	}
}

func TestPushRedeliversAfterAckWait(t *testing.T) {
	p := newPushEnv(t, "")
	p.create("jobs", "jobs.*")
	c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", AckWait: time.Second,
		MaxDeliveries: 2, DeadLetter: "dead.w"})
	p.appendN("jobs.x", 1, 2)
	out := p.waitN(2)
	if err := c.AckSeq(pushedSeq(t, out[0])); err != nil {
		t.Fatal(err)
	}
	p.clk.Advance(time.Second)
	out = p.waitN(3)
	if pushedSeq(t, out[2]) != 2 || out[2].Headers[logs.HeaderDeliveries] != "2" {
		t.Fatalf("redelivery %+v", out[2])
	}
	p.clk.Advance(time.Second) // out of deliveries: dead-lettered through Deliver's fallback (Publish is nil: dropped)
	deadline := time.Now().Add(10 * time.Second)
	for c.Info().Pending != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still pending: %+v", c.Info())
		}
		runtime.Gosched()
	}
}

// TestPushAtCapResumesAfterDeadLetters fills MaxAckPending with records
// that then run out of deliveries: dead-lettering them frees the room, and
// the pusher, asleep at the cap, must wake for the next record.
func TestPushAtCapResumesAfterDeadLetters(t *testing.T) {
	p := newPushEnv(t, "")
	p.create("jobs", "jobs.*")
	p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", MaxAckPending: 2,
		MaxDeliveries: 1, AckWait: time.Second})
	p.appendN("jobs.x", 1, 2)
	p.waitN(2)
	p.clk.Advance(2 * time.Second) // both dead-lettered: the cap has room again
	p.appendN("jobs.x", 3, 1)
	p.waitFor("the record after the dead letters", func(out []published, _ int) bool {
		for _, pub := range out {
			if pub.Subject == "d.w" && pub.Headers[logs.HeaderSeq] == "3" {
				return true
			}
		}
		return false
	})
}

// TestPushToNobody checks that a push nobody receives is not counted, that
// the pusher sleeps rather than spins, and that it delivers once someone
// listens.
func TestPushToNobody(t *testing.T) {
	p := newPushEnv(t, "")
	p.reach.Store(0)
	p.create("jobs", "jobs.*")
	c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", AckWait: time.Hour})
	p.appendN("jobs.x", 1, 3)
	p.waitFor("a first attempt", func(_ []published, tries int) bool { return tries >= 1 })
	// The pusher now sleeps on the fake clock, which does not move: no
	// further attempt can happen until it is advanced.
	// Two timers: the ack wait's and the pusher's backoff.
	waitCond(t, "backoff timer", func() bool { return p.clk.Pending() >= 2 })
	p.mu.Lock()
	tries := p.tries
	p.mu.Unlock()
	if tries != 1 {
		t.Fatalf("%d attempts before the backoff, want 1", tries)
	}
	p.reach.Store(1)
	for i := 0; len(p.outbox()) < 3; i++ {
		if i > 100 {
			t.Fatal("not delivered after 100 backoffs")
		}
		p.clk.Advance(time.Second)
		waitCond(t, "an attempt or the next backoff", func() bool { return len(p.outbox()) >= 3 || p.clk.Pending() >= 2 })
	}
	for i, pub := range p.outbox() {
		if pushedSeq(t, pub) != uint64(i+1) || pub.Headers[logs.HeaderDeliveries] != "1" {
			t.Errorf("delivery %d: seq %s deliveries %s", i, pub.Headers[logs.HeaderSeq], pub.Headers[logs.HeaderDeliveries])
		}
	}
	if in := c.Info(); in.Delivered != 3 || in.Pending != 3 {
		t.Errorf("info %+v", in)
	}
}

func (p *pushEnv) outbox() []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]published(nil), p.out...)
}

// waitCond polls cond (no sleeping: it yields) until it holds or 10 s pass.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestPushResumesAfterRestart(t *testing.T) {
	p := newPushEnv(t, t.TempDir())
	p.create("jobs", "jobs.*")
	c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", DeliverGroup: "g", AckWait: time.Hour})
	p.appendN("jobs.x", 1, 3)
	out := p.waitN(3)
	if err := c.AckSeq(pushedSeq(t, out[0])); err != nil {
		t.Fatal(err)
	}
	p.reopen()
	p.appendN("jobs.x", 4, 1)
	out = p.waitN(6) // 2 and 3 again (pending, due at once), then 4
	var got []string
	for _, pub := range out[3:] {
		got = append(got, pub.Headers[logs.HeaderSeq]+"/"+pub.Headers[logs.HeaderDeliveries])
	}
	if fmt.Sprint(got) != "[2/2 3/2 4/1]" {
		t.Errorf("after restart: %v", got)
	}
	in, err := p.m.Info("jobs")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := in.Consumers[0].Config; cfg.DeliverSubject != "d.w" || cfg.DeliverGroup != "g" || cfg.MaxAckPending != logs.DefaultMaxAckPending {
		t.Errorf("restored config %+v", cfg)
	}
}

func TestPushStopsAndLeavesNoGoroutine(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(p *pushEnv, c *logs.Consumer) error
	}{
		{"delete consumer", func(p *pushEnv, _ *logs.Consumer) error { return p.m.DeleteConsumer("jobs", "w") }},
		{"delete log", func(p *pushEnv, _ *logs.Consumer) error { return p.m.Delete("jobs") }},
		{"close manager", func(p *pushEnv, _ *logs.Consumer) error { return p.m.Close() }},
		{"close ephemeral", func(_ *pushEnv, c *logs.Consumer) error { return c.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			p := newPushEnv(t, "")
			p.create("jobs", "jobs.*")
			name := "w"
			if tc.name == "close ephemeral" {
				name = ""
			}
			c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: name, DeliverSubject: "d.w"})
			p.appendN("jobs.x", 1, 1)
			p.waitN(1)
			if err := tc.stop(p, c); err != nil {
				t.Fatal(err)
			}
			waitCond(t, "the pusher to exit", func() bool { return runtime.NumGoroutine() <= before })
		})
	}
}

func TestPullMaxAckPending(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "jobs", Subjects: []string{"jobs.*"}})
	e.appendN("jobs.x", 10)
	c := e.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", MaxAckPending: 2, AckWait: time.Second})
	if got, _ := fetch(t, c, 10); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("first fetch %v", got)
	}
	if got, _ := fetch(t, c, 10); len(got) != 0 {
		t.Fatalf("fetch at the cap returned %v", got)
	}
	e.clk.Advance(time.Second)
	got, ds := fetch(t, c, 10) // redeliveries still go out
	if fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("redeliveries %v", got)
	}
	if err := c.Ack(ds[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := fetch(t, c, 10); fmt.Sprint(got) != "[3]" {
		t.Fatalf("after one ack %v", got)
	}
	none := e.consumer(logs.ConsumerConfig{Log: "jobs", Name: "n", MaxAckPending: 2, Ack: logs.AckNone})
	if got, _ := fetch(t, none, 10); len(got) != 10 {
		t.Fatalf("ack none ignores the cap: got %v", got)
	}
}

// TestFetchWakesOnAck checks that a Fetch waiting at the cap returns when
// an ack makes room.
func TestFetchWakesOnAck(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "jobs", Subjects: []string{"jobs.*"}})
	e.appendN("jobs.x", 3)
	c := e.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", MaxAckPending: 1})
	_, ds := fetch(t, c, 10)
	res := make(chan []logs.Delivery, 1)
	go func() {
		ds, err := c.Fetch(context.Background(), 10, time.Hour)
		if err != nil {
			t.Error(err)
		}
		res <- ds
	}()
	if err := c.Ack(ds[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-res:
		if fmt.Sprint(seqs(got)) != "[2]" {
			t.Fatalf("got %v", seqs(got))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fetch did not wake on the ack")
	}
}

func TestPushConfigErrors(t *testing.T) {
	p := newPushEnv(t, "")
	p.create("jobs", "jobs.>")
	for _, tc := range []struct {
		name string
		cfg  logs.ConsumerConfig
		want error
	}{
		{"own log captures deliver subject", logs.ConsumerConfig{Log: "jobs", Name: "a", DeliverSubject: "jobs.out"}, logs.ErrInvalid},
		{"group without subject", logs.ConsumerConfig{Log: "jobs", Name: "b", DeliverGroup: "g"}, logs.ErrInvalid},
		{"bad deliver subject", logs.ConsumerConfig{Log: "jobs", Name: "c", DeliverSubject: "a.*"}, logs.ErrInvalid},
		{"bad group", logs.ConsumerConfig{Log: "jobs", Name: "d", DeliverSubject: "d", DeliverGroup: "a b"}, logs.ErrInvalid},
		{"negative cap", logs.ConsumerConfig{Log: "jobs", Name: "e", MaxAckPending: -1}, logs.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.m.Consumer(tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "push", DeliverSubject: "d.push"})
	if _, err := c.Fetch(context.Background(), 1, 0); !errors.Is(err, logs.ErrInvalid) {
		t.Errorf("Fetch on a push consumer: %v", err)
	}
	if _, err := p.m.Consumer(logs.ConsumerConfig{Log: "jobs", Name: "push"}); !errors.Is(err, logs.ErrExists) {
		t.Errorf("pull open of a push consumer: %v", err)
	}
}
