package native

import (
	"fmt"
	"testing"

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
