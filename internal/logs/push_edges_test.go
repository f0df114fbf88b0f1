package logs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logs"
)

// TestOpenFailsWithoutPushing checks that an Open failing on a later log
// returns its error even though Deliver blocks (as the server's does until
// it is built): no pusher of an earlier log may have started.
func TestOpenFailsWithoutPushing(t *testing.T) {
	dir := t.TempDir()
	p := newPushEnv(t, dir)
	p.create("a", "a.>")
	p.create("b", "b.>")
	p.consumer(logs.ConsumerConfig{Log: "a", Name: "w", DeliverSubject: "d.w"})
	p.appendN("a.x", 1, 1)
	p.waitN(1)
	if err := p.m.Close(); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "consumers", "b")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "zzz.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	block := func(string, []byte, []byte) (int, error) {
		<-release
		return 0, nil
	}
	res := make(chan error, 1)
	go func() {
		m, err := logs.Open(logs.Config{Dir: dir, Clock: clock.NewFake(t0), Deliver: block})
		if err == nil {
			m.Close()
		}
		res <- err
	}()
	select {
	case err := <-res:
		if err == nil || !strings.Contains(err.Error(), "zzz.json") {
			t.Fatalf("Open: %v, want the corrupt consumer's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open hung on a failed load")
	}
}

// TestDeliverSubjectCapturedByALog checks both directions of the rule: a
// push consumer's deliver subject may not be captured by any log.
func TestDeliverSubjectCapturedByALog(t *testing.T) {
	p := newPushEnv(t, "")
	p.create("jobs", "jobs.>")
	p.create("audit", "audit.>")
	_, err := p.m.Consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "audit.out"})
	if !errors.Is(err, logs.ErrInvalid) || !strings.Contains(err.Error(), `"audit"`) {
		t.Fatalf("deliver subject in another log: %v, want ErrInvalid naming audit", err)
	}
	p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "out.w"})
	for _, pat := range []string{"out.w", "out.*", ">"} {
		err := p.m.Create(logs.LogConfig{Name: "late", Subjects: []string{"other", pat}})
		if !errors.Is(err, logs.ErrInvalid) || !strings.Contains(err.Error(), `"w"`) {
			t.Fatalf("log on %q: %v, want ErrInvalid naming consumer w", pat, err)
		}
	}
	p.create("late", "out.x") // does not capture out.w
}

// TestPushRefusedDeliveryDeadLetters checks that a delivery the broker
// refuses counts, and that the record is dead-lettered with the error as
// the reason once out of deliveries, letting the next one go out.
func TestPushRefusedDeliveryDeadLetters(t *testing.T) {
	e := newEnv(t, "")
	var ok atomic.Int64 // deliveries that reached someone
	e.m.SetDeliver(func(subj string, hdr, payload []byte) (int, error) {
		if string(payload) == "p1" {
			return 0, errors.New("headers too large")
		}
		ok.Add(1)
		return 1, nil
	})
	e.create(logs.LogConfig{Name: "jobs", Subjects: []string{"jobs.>"}})
	c := e.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", MaxDeliveries: 3,
		AckWait: time.Hour, DeadLetter: "dead.w"})
	e.appendN("jobs.x", 2) // payloads p1, p2
	done := func() bool { return ok.Load() > 0 && len(e.outbox()) > 0 }
	for i := 0; !done(); i++ {
		if i > 100 {
			t.Fatalf("not done after 100 backoffs; info %+v, dead letters %d", c.Info(), len(e.outbox()))
		}
		// Two timers while the pusher backs off: the ack wait's and its own.
		waitCond(t, "the pusher's backoff", func() bool { return done() || e.clk.Pending() >= 2 })
		e.clk.Advance(time.Second)
	}
	if out := e.outbox(); len(out) != 1 {
		t.Fatalf("dead letters %+v, want 1", out)
	}
	dead := e.outbox()[0]
	if dead.Subject != "dead.w" || dead.Payload != "p1" || dead.Headers[logs.HeaderDLQReason] != logs.ReasonDeliverFailed+": headers too large" ||
		dead.Headers[logs.HeaderDeliveries] != "3" || dead.Headers[logs.HeaderSeq] != "1" {
		t.Fatalf("dead letter %+v", dead)
	}
	if in := c.Info(); in.Pending != 1 || ok.Load() != 1 {
		t.Fatalf("info %+v, %d delivered", in, ok.Load())
	}
}

// TestPushUndeliverableDeadLettersAtOnce checks that a delivery the broker
// can never take is dead-lettered on its first refusal, even with
// unlimited deliveries, and the records behind it go out.
func TestPushUndeliverableDeadLettersAtOnce(t *testing.T) {
	e := newEnv(t, "")
	var ok atomic.Int64
	e.m.SetDeliver(func(subj string, hdr, payload []byte) (int, error) {
		if string(payload) == "p1" {
			return 0, fmt.Errorf("%w: headers too large", logs.ErrUndeliverable)
		}
		ok.Add(1)
		return 1, nil
	})
	e.create(logs.LogConfig{Name: "jobs", Subjects: []string{"jobs.>"}})
	c := e.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", AckWait: time.Hour, DeadLetter: "dead.w"})
	e.appendN("jobs.x", 2) // payloads p1, p2
	waitCond(t, "the dead letter and the next record", func() bool { return ok.Load() == 1 && len(e.outbox()) == 1 })
	dead := e.outbox()[0]
	if dead.Payload != "p1" || dead.Headers[logs.HeaderDeliveries] != "1" ||
		!strings.HasPrefix(dead.Headers[logs.HeaderDLQReason], logs.ReasonDeliverFailed) {
		t.Fatalf("dead letter %+v", dead)
	}
	if in := c.Info(); in.Pending != 1 {
		t.Fatalf("info %+v: only p2 should await its ack", in)
	}
}

// TestPushAtCapIgnoresAppends checks that a push consumer at MaxAckPending
// is not woken by appends: after each append it waits for the pusher to be
// parked again (a close readies a waiting goroutine at once, so a woken
// pusher is parked again only after its pass), then counts passes.
func TestPushAtCapIgnoresAppends(t *testing.T) {
	const limit, appends = 3, 20
	p := newPushEnv(t, "")
	p.create("jobs", "jobs.*")
	c := p.consumer(logs.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "d.w", MaxAckPending: limit, AckWait: time.Hour})
	p.appendN("jobs.x", 1, limit)
	out := p.waitN(limit)
	waitCond(t, "the pusher to park", pusherParked)
	before := logs.CollectPasses(c)
	for i := range appends {
		p.appendN("jobs.x", limit+1+i, 1)
		waitCond(t, "the pusher to park", pusherParked)
	}
	if n := logs.CollectPasses(c) - before; n != 0 {
		t.Fatalf("%d collect passes for %d appends at the cap", n, appends)
	}
	if err := c.AckSeq(pushedSeq(t, out[0])); err != nil {
		t.Fatal(err)
	}
	p.waitN(limit + 1)
}

// pusherParked reports whether a pusher goroutine is blocked in its select
// waiting for work (not in its backoff sleep).
func pusherParked() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(g, "logs.(*consumerState).push(") && !strings.Contains(g, "(*consumerState).sleep(") &&
			strings.Contains(header, "[select") {
			return true
		}
	}
	return false
}
