package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

// pushed collects the records a Consume handler got.
type pushed struct {
	mu   sync.Mutex
	recs []*ferry.LogRecord
}

func (p *pushed) add(r *ferry.LogRecord) {
	p.mu.Lock()
	p.recs = append(p.recs, r)
	p.mu.Unlock()
}

func (p *pushed) all() []*ferry.LogRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*ferry.LogRecord(nil), p.recs...)
}

func (p *pushed) len() int { return len(p.all()) }

// acking is a handler that acknowledges r and then records it.
func (p *pushed) acking(t *testing.T) func(*ferry.LogRecord) {
	return func(r *ferry.LogRecord) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Ack(ctx); err != nil {
			t.Errorf("ack %d: %v", r.Seq, err)
		}
		p.add(r)
	}
}

func createLog(t *testing.T, ctx context.Context, nc *ferry.Conn, name string) {
	t.Helper()
	if err := nc.CreateLog(ctx, ferry.LogConfig{Name: name, Subjects: []string{name + ".>"}}); err != nil {
		t.Fatal(err)
	}
}

func publishN(t *testing.T, ctx context.Context, nc *ferry.Conn, subj string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := nc.PublishDurable(ctx, subj, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func consume(t *testing.T, ctx context.Context, nc *ferry.Conn, cc ferry.ConsumerConfig, fn func(*ferry.LogRecord)) *ferry.PushConsumer {
	t.Helper()
	pc, err := nc.Consume(ctx, cc, fn)
	if err != nil {
		t.Fatalf("Consume %+v: %v", cc, err)
	}
	return pc
}

func TestE2EPushFanOut(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 20*time.Second)
	pub := dial(t, s)
	createLog(t, ctx, pub, "orders")
	var a, b pushed
	pa := consume(t, ctx, dial(t, s), ferry.ConsumerConfig{Log: "orders", Name: "mail"}, a.acking(t))
	consume(t, ctx, dial(t, s), ferry.ConsumerConfig{Log: "orders", Name: "audit"}, b.acking(t))
	if in := pa.Info(); in.DeliverSubject != "_PUSH.orders.mail" || in.MaxAckPending != 1000 || in.Ack != "each" {
		t.Fatalf("consumer info %+v", in)
	}
	publishN(t, ctx, pub, "orders.eu", 1, 5)
	eventually(t, "both consumers get every record", func() bool { return a.len() == 5 && b.len() == 5 })
	eventually(t, "both consumers' acks", func() bool {
		in, err := pub.LogInfo(ctx, "orders")
		return err == nil && len(in.ConsumerDetails) == 2 && in.ConsumerDetails[0].AckFloor == 5 && in.ConsumerDetails[1].AckFloor == 5
	})
	for _, p := range []*pushed{&a, &b} {
		for i, r := range p.all() {
			if r.Seq != uint64(i+1) || string(r.Data) != fmt.Sprintf("m%d", i+1) || r.Subject != "orders.eu" ||
				r.Log != "orders" || r.Deliveries != 1 || r.Time.IsZero() || len(r.Header) != 0 {
				t.Fatalf("record %d: %+v", i, r)
			}
		}
	}
}

func TestE2EPushWorkQueue(t *testing.T) {
	const n = 60
	s := ferrytest.New(t)
	ctx := timeout(t, 20*time.Second)
	pub := dial(t, s)
	createLog(t, ctx, pub, "jobs")
	cc := ferry.ConsumerConfig{Log: "jobs", Name: "workers", DeliverGroup: "pool", DeliverSubject: "work.jobs"}
	var w1, w2 pushed
	consume(t, ctx, dial(t, s), cc, w1.acking(t))
	consume(t, ctx, dial(t, s), cc, w2.acking(t))
	publishN(t, ctx, pub, "jobs.x", 1, n)
	eventually(t, "every job delivered", func() bool { return w1.len()+w2.len() >= n })
	eventually(t, "every job acknowledged", func() bool {
		in, err := pub.LogInfo(ctx, "jobs")
		return err == nil && in.ConsumerDetails[0].AckFloor == n && in.ConsumerDetails[0].Pending == 0
	})
	seen := map[uint64]int{}
	for _, r := range append(w1.all(), w2.all()...) {
		seen[r.Seq]++
	}
	for seq := uint64(1); seq <= n; seq++ {
		if seen[seq] != 1 {
			t.Errorf("job %d delivered %d times", seq, seen[seq])
		}
	}
	if w1.len() == 0 || w2.len() == 0 {
		t.Errorf("one worker got nothing: %d and %d", w1.len(), w2.len())
	}
}

func TestE2EPushRedelivery(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 20*time.Second)
	nc := dial(t, s)
	createLog(t, ctx, nc, "jobs")
	var got pushed
	consume(t, ctx, nc, ferry.ConsumerConfig{Log: "jobs", Name: "w", AckWait: 100 * time.Millisecond}, func(r *ferry.LogRecord) {
		got.add(r)
		if r.Deliveries >= 2 { // ignore the first delivery
			if err := r.Ack(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	publishN(t, ctx, nc, "jobs.x", 1, 1)
	eventually(t, "the redelivery", func() bool { return got.len() >= 2 })
	if rs := got.all(); rs[0].Seq != 1 || rs[0].Deliveries != 1 || rs[1].Seq != 1 || rs[1].Deliveries != 2 {
		t.Fatalf("deliveries %+v %+v", rs[0], rs[1])
	}
	eventually(t, "the ack", func() bool {
		in, err := nc.LogInfo(ctx, "jobs")
		return err == nil && in.ConsumerDetails[0].AckFloor == 1
	})
}

func TestE2EPushMaxAckPending(t *testing.T) {
	const limit, n = 3, 10
	s := ferrytest.New(t)
	ctx := timeout(t, 20*time.Second)
	nc := dial(t, s)
	createLog(t, ctx, nc, "jobs")
	var (
		mu    sync.Mutex
		held  []*ferry.LogRecord // delivered, not yet acknowledged
		acked int
	)
	consume(t, ctx, nc, ferry.ConsumerConfig{Log: "jobs", Name: "w", MaxAckPending: limit, AckWait: time.Minute}, func(r *ferry.LogRecord) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, r)
		if len(held) > limit {
			t.Errorf("%d records unacknowledged, cap %d", len(held), limit)
		}
	})
	publishN(t, ctx, nc, "jobs.x", 1, n)
	for acked < n {
		eventually(t, "the cap filled", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(held) == min(limit, n-acked)
		})
		in, err := nc.LogInfo(ctx, "jobs")
		if err != nil || in.ConsumerDetails[0].Pending > limit {
			t.Fatalf("info %+v, %v", in, err)
		}
		mu.Lock()
		r := held[0]
		held = held[1:]
		mu.Unlock()
		if err := r.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		acked++
	}
}

func TestE2EPushResumesAfterRestart(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 30*time.Second)
	nc := dial(t, s, ferry.WithReconnectWait(5*time.Millisecond, 50*time.Millisecond))
	createLog(t, ctx, nc, "jobs")
	var got pushed
	consume(t, ctx, nc, ferry.ConsumerConfig{Log: "jobs", Name: "w", AckWait: 300 * time.Millisecond}, func(r *ferry.LogRecord) {
		got.add(r)
		if r.Seq != 2 || r.Deliveries > 1 { // leave record 2 unacknowledged before the restart
			r.Ack(context.Background())
		}
	})
	publishN(t, ctx, nc, "jobs.x", 1, 2)
	eventually(t, "two records", func() bool { return got.len() == 2 })
	eventually(t, "record 1 acknowledged", func() bool {
		in, err := nc.LogInfo(ctx, "jobs")
		return err == nil && in.ConsumerDetails[0].AckFloor == 1
	})
	s.Restart(t)
	// No new Consume: the server resumes pushing the durable consumer, and
	// the connection re-subscribes by itself when it reconnects.
	eventually(t, "a publish after the restart", func() bool {
		_, err := nc.PublishDurable(ctx, "jobs.x", []byte("m3"))
		return err == nil
	})
	eventually(t, "records 2 and 3 after the restart", func() bool {
		var two, three bool
		for _, r := range got.all()[2:] {
			two = two || r.Seq == 2 && r.Deliveries >= 2
			three = three || r.Seq == 3
		}
		return two && three
	})
	for _, r := range got.all()[2:] {
		if r.Seq == 1 {
			t.Fatalf("acknowledged record 1 pushed again: %+v", r)
		}
	}
}

func TestE2EPushDeleteStopsGoroutines(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 20*time.Second)
	nc := dial(t, s)
	createLog(t, ctx, nc, "jobs")
	var got pushed
	pc := consume(t, ctx, nc, ferry.ConsumerConfig{Log: "jobs", Name: "w"}, got.acking(t))
	publishN(t, ctx, nc, "jobs.x", 1, 3)
	eventually(t, "three records", func() bool { return got.len() == 3 })
	if n := pushers(); n != 1 {
		t.Fatalf("%d pushers running, want 1 (has the pusher's function been renamed?)", n)
	}
	if err := pc.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pusher to end", func() bool { return pushers() == 0 })
	if err := nc.DeleteConsumer(ctx, "jobs", "w"); !errors.Is(err, ferry.ErrLogNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// A consumer deleted with its log stops too.
	pc = consume(t, ctx, nc, ferry.ConsumerConfig{Log: "jobs", Name: "w2"}, got.add)
	if err := nc.DeleteLog(ctx, "jobs"); err != nil {
		t.Fatal(err)
	}
	pc.Stop()
	eventually(t, "the pusher to end after the log's delete", func() bool { return pushers() == 0 })
}

// pushers counts the goroutines running a push consumer's loop. Counting
// them by name, rather than comparing runtime.NumGoroutine with a figure
// taken earlier, cannot be fooled by another goroutine ending meanwhile.
func pushers() int {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "logs.(*consumerState).push(") {
			count++
		}
	}
	return count
}

func TestE2EConsumeErrors(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	nc := dial(t, s)
	createLog(t, ctx, nc, "jobs")
	noop := func(*ferry.LogRecord) {}
	for _, tc := range []struct {
		name string
		cc   ferry.ConsumerConfig
		want error
	}{
		{"no name", ferry.ConsumerConfig{Log: "jobs"}, ferry.ErrLogInvalid},
		{"no log", ferry.ConsumerConfig{Log: "nope", Name: "w"}, ferry.ErrLogNotFound},
		{"captured deliver subject", ferry.ConsumerConfig{Log: "jobs", Name: "w", DeliverSubject: "jobs.out"}, ferry.ErrLogInvalid},
		{"negative cap", ferry.ConsumerConfig{Log: "jobs", Name: "w", MaxAckPending: -1}, ferry.ErrLogInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := nc.Consume(ctx, tc.cc, noop); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	consume(t, ctx, nc, ferry.ConsumerConfig{Log: "jobs", Name: "w"}, noop)
	if _, err := nc.Consume(ctx, ferry.ConsumerConfig{Log: "jobs", Name: "w", Ack: "none"}, noop); !errors.Is(err, ferry.ErrLogExists) {
		t.Fatalf("reopen with another ack mode: %v", err)
	}
	if _, err := nc.Fetch(ctx, ferry.ConsumerConfig{Log: "jobs", Name: "w"}, 1, 0); !errors.Is(err, ferry.ErrLogExists) {
		t.Fatalf("fetch on a push consumer: %v", err)
	}
}

// BenchmarkPushConsume measures records pushed to one Consume handler and
// acknowledged (ack "each", default cap) from a memory log:
//
//	go test -run '^$' -bench PushConsume -benchtime 20000x .
func BenchmarkPushConsume(b *testing.B) {
	for _, ack := range []string{"none", "each"} {
		b.Run("ack="+ack, func(b *testing.B) {
			s := ferrytest.New(b)
			nc, err := ferry.Connect(s.URL())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			ctx := context.Background()
			if err := nc.CreateLog(ctx, ferry.LogConfig{Name: "bench", Subjects: []string{"bench"}, Storage: ferry.StorageMemory}); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 128)
			for range b.N {
				if err := nc.Publish("bench", payload); err != nil {
					b.Fatal(err)
				}
			}
			if err := nc.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			n := 0
			b.ResetTimer()
			_, err = nc.Consume(ctx, ferry.ConsumerConfig{Log: "bench", Name: "c", Ack: ack}, func(r *ferry.LogRecord) {
				if ack == "each" {
					r.Ack(ctx)
				}
				if n++; n == b.N {
					close(done)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			<-done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
