package ferry

import (
	"context"
	"testing"

	"github.com/ferrymq/ferry/ferrytest"
)

// BenchmarkChannelSend measures one direction of a channel: the dialer
// sends 128-byte messages, the acceptor receives them, both flow-controlled.
func BenchmarkChannelSend(b *testing.B) {
	srv := ferrytest.New(b)
	ctx := context.Background()
	dialer := dialServer(b, srv)
	acceptor := dialServer(b, srv, WithID("bench-acceptor"))
	l, err := acceptor.Listen("bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := acceptor.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		ch, err := l.Accept(ctx)
		if err != nil {
			got <- -1
			return
		}
		n := 0
		for {
			if _, err := ch.Recv(ctx); err != nil {
				ch.Close()
				got <- n
				return
			}
			n++
		}
	}()
	ch, err := dialer.Dial(ctx, ToEndpoint("bench-acceptor"), "bench")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 128)
	b.SetBytes(128)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := ch.Send(ctx, data); err != nil {
			b.Fatal(err)
		}
		n++
	}
	ch.CloseSend()
	if r := <-got; r != n {
		b.Fatalf("received %d of %d", r, n)
	}
	ch.Close()
}
