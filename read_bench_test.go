package ferry

import (
	"fmt"
	"testing"

	"github.com/ferrymq/ferry/ferrytest"
)

// benchClientPubSub measures publish → one subscriber through a real broker
// with the Go client on both ends, so the figure includes the client's read
// path (decoding, copying the payload out, handing it to the handler). The
// publisher keeps at most a window of about 4 MiB in flight, as the
// side-by-side tool does, so the subscriber is never cut as slow.
func benchClientPubSub(b *testing.B, size int) {
	srv := ferrytest.New(b)
	pub, sub := dialServer(b, srv), dialServer(b, srv)
	batch := max(1, (1<<20)/(size+64)) // messages per acknowledgement
	const window = 4                   // batches in flight
	acks := make(chan struct{}, window+1)
	n := 0
	if _, err := sub.Subscribe("bench.>", func(*Msg) {
		if n++; n%batch == 0 {
			acks <- struct{}{}
		}
	}); err != nil {
		b.Fatal(err)
	}
	if err := sub.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	acked := 0
	for i := 1; i <= b.N; i++ {
		if err := pub.Publish("bench.x", data); err != nil {
			b.Fatal(err)
		}
		if i%batch == 0 && i/batch-acked > window {
			<-acks
			acked++
		}
	}
	for acked < b.N/batch {
		<-acks
		acked++
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkClientPubSub: small payloads, where per-message costs dominate.
func BenchmarkClientPubSub(b *testing.B) {
	for _, size := range []int{16, 128} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) { benchClientPubSub(b, size) })
	}
}

// BenchmarkClientPubSubLarge: payloads where copying dominates.
func BenchmarkClientPubSubLarge(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) { benchClientPubSub(b, size) })
	}
}
