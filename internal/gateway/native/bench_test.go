package native

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

// BenchmarkPubSubLoopback measures publish → deliver throughput through a
// real gateway over loopback TCP: one publisher, n subscribers, raw frames
// on both ends so the figure is the server's.
func BenchmarkPubSubLoopback(b *testing.B) {
	for _, subs := range []int{1, 4} {
		for _, size := range []int{16, 128} {
			b.Run(fmt.Sprintf("subs=%d/payload=%d", subs, size), func(b *testing.B) {
				benchPubSub(b, subs, size)
			})
		}
	}
}

func benchPubSub(b *testing.B, subs, size int) {
	cfg := testConfig()
	cfg.MaxPending = 64 << 20
	_, _, addr := startGateway(b, cfg)
	done := make(chan int, subs)
	for i := range subs {
		c := connectRaw(b, addr, fmt.Sprint("s", i))
		c.write((&wire.Sub{SID: 1, Pattern: []byte("bench.>")}).Append(nil))
		c.write(wire.AppendEmpty(nil, wire.OpPing))
		for {
			if f, ok := c.next().(wire.Empty); ok && f.Op == wire.OpPong {
				break
			}
		}
		c.nc.SetReadDeadline(time.Time{}) // the run may outlast next's deadline
		go func() {
			n := 0
			for n < b.N {
				op, _, err := c.r.Next()
				if err != nil {
					break
				}
				if op == wire.OpMsg {
					n++
				}
			}
			done <- n
		}()
	}
	pub := connectRaw(b, addr, "pub")
	frame := (&wire.Pub{Subject: []byte("bench.x"), Payload: make([]byte, size)}).Append(nil)
	batch := make([]byte, 0, 64<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch = append(batch, frame...)
		if len(batch) > 60<<10 || i == b.N-1 {
			pub.write(batch)
			batch = batch[:0]
		}
	}
	for range subs {
		if n := <-done; n != b.N {
			b.Fatalf("subscriber got %d of %d", n, b.N)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDeliver measures the delivery path alone, without sockets: the
// default policy, and a drop-oldest subscription whose writer is stuck, so
// every message goes through its queue.
func BenchmarkDeliver(b *testing.B) {
	cfg := testConfig()
	cfg.MaxPending = 1 << 30
	m := &broker.Message{Subject: []byte("bench.x"), From: []byte("pub"), Payload: make([]byte, 16)}
	run := func(b *testing.B, c *conn) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if !c.Deliver(1, m) {
				b.Fatal("not delivered")
			}
			if i%1024 == 1023 { // what the flusher would have written
				c.mu.Lock()
				c.out, c.pending, c.outMsgs = c.out[:0], 0, 0
				c.mu.Unlock()
			}
		}
	}
	b.Run("default", func(b *testing.B) {
		run(b, newConn(New(broker.New(broker.Config{}), cfg), nil))
	})
	b.Run("drop-oldest-full", func(b *testing.B) {
		c := newConn(New(broker.New(broker.Config{}), cfg), nil)
		c.addQueue(1, wire.BackpressureDropOldest, 64)
		run(b, c)
	})
}
