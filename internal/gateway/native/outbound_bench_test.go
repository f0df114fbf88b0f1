package native

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// BenchmarkPubSubWindowed is BenchmarkPubSubLoopback, 1 → 1, with the
// publisher kept at most about 8 MiB ahead of the subscriber, as a client
// with flow control would be: a flood of large messages lets a fast server
// queue past MaxPending and cut the raw subscriber as slow.
func BenchmarkPubSubWindowed(b *testing.B) {
	for _, size := range []int{16, 128, 1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			benchPubSubWindowed(b, size)
		})
	}
}

func benchPubSubWindowed(b *testing.B, size int) {
	cfg := testConfig()
	cfg.MaxPending = 32 << 20
	_, _, addr := startGateway(b, cfg)
	sub := connectRaw(b, addr, "sub")
	sub.write((&wire.Sub{SID: 1, Pattern: []byte("bench.>")}).Append(nil))
	sub.write(wire.AppendEmpty(nil, wire.OpPing))
	for {
		if f, ok := sub.next().(wire.Empty); ok && f.Op == wire.OpPong {
			break
		}
	}
	sub.nc.SetReadDeadline(time.Time{}) // the run may outlast next's deadline

	per := max(1, (1<<20)/(size+32)) // messages per acknowledgement (~1 MiB)
	const window = 8                 // acknowledgements in flight
	acks := make(chan struct{}, window+1)
	done := make(chan int, 1)
	go func() {
		n := 0
		for n < b.N {
			op, _, err := sub.r.Next()
			if err != nil {
				break
			}
			if op == wire.OpMsg {
				if n++; n%per == 0 {
					acks <- struct{}{}
				}
			}
		}
		done <- n
	}()

	pub := connectRaw(b, addr, "pub")
	frame := (&wire.Pub{Subject: []byte("bench.x"), Payload: make([]byte, size)}).Append(nil)
	batch := make([]byte, 0, 64<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	acked := 0
	for i := 1; i <= b.N; i++ {
		batch = append(batch, frame...)
		if len(batch) > 60<<10 || i%per == 0 || i == b.N {
			pub.write(batch)
			batch = batch[:0]
		}
		if i%per == 0 && i/per-acked > window {
			select {
			case <-acks:
				acked++
			case n := <-done:
				b.Fatalf("subscriber stopped after %d of %d", n, b.N)
			}
		}
	}
	if n := <-done; n != b.N {
		b.Fatalf("subscriber got %d of %d", n, b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
