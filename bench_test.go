package ferry

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/internal/wire"
)

// sinkServer accepts connections, answers CONNECT with INFO and discards
// everything after it: a server that is never the bottleneck.
func sinkServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := wire.NewReader(nc, 1<<20)
				if _, _, err := r.Next(); err != nil {
					return
				}
				info := wire.Info{Version: wire.Version, ID: "sink", MaxPayload: 1 << 20, MaxHeaders: 1 << 16}
				nc.Write(info.Append(nil))
				io.Copy(io.Discard, nc)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestPublishDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("alloc counts are for full runs")
	}
	c, err := Connect(sinkServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 128)
	m := &Msg{Subject: "orders.eu.created.with.a.long.subject.name", Reply: "r", Header: Header{{"k", "v"}}, Data: data}
	for range 1000 { // warm the buffers
		c.PublishMsg(m)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Publish("orders.eu.created.with.a.long.subject.name", data) }); n != 0 {
		t.Errorf("Publish allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { c.PublishMsg(m) }); n != 0 {
		t.Errorf("PublishMsg with headers allocates %v times per call", n)
	}
	u := &Msg{Subject: "cmd.zoom", Target: ToEndpoint("camera-in-the-north-east-corner-of-the-hall"), Data: data}
	if n := testing.AllocsPerRun(1000, func() { c.PublishMsg(u) }); n != 0 {
		t.Errorf("PublishMsg to an endpoint allocates %v times per call", n)
	}
}

func BenchmarkPublish(b *testing.B) {
	for _, size := range []int{16, 256, 4096} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			c, err := Connect(sinkServer(b))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Publish("bench.subject", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPublishParallel(b *testing.B) {
	c, err := Connect(sinkServer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 128)
	b.SetBytes(128)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Publish("bench.subject", data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRequest(b *testing.B) {
	s := newFakeServer(b)
	client, server := connect(b, s), connect(b, s)
	server.Respond("echo", func(m *Msg) []byte { return m.Data })
	data := make([]byte, 128)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Request(ctx, "echo", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamSend streams 128-byte messages to one receiver through a
// real broker, with the default window; it includes receiving them.
func BenchmarkStreamSend(b *testing.B) {
	srv := ferrytest.New(b)
	sender := dialServer(b, srv)
	recv := dialServer(b, srv)
	got := make(chan int, 1)
	if _, err := recv.HandleStreams("bench", func(in *IncomingStream) {
		n := 0
		for {
			if _, err := in.Recv(context.Background()); err != nil {
				got <- n
				return
			}
			n++
		}
	}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := sender.OpenStream(ctx, "bench", Target{})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 128)
	b.SetBytes(128)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := st.Send(ctx, data); err != nil {
			b.Fatal(err)
		}
		n++
	}
	st.Close()
	if r := <-got; r != n {
		b.Fatalf("received %d of %d", r, n)
	}
}

func TestStreamSendDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("alloc counts are for full runs")
	}
	c, err := Connect(sinkServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := c.newFlow(1, flowOut, "bench", "", &streamOptions{})
	f.roomMsgs, f.roomBytes = 1<<40, 1<<50
	c.register(f)
	st := &Stream{f: f}
	ctx := context.Background()
	data := make([]byte, 128)
	if n := testing.AllocsPerRun(1000, func() { st.Send(ctx, data) }); n != 0 {
		t.Errorf("Stream.Send allocates %v times per call", n)
	}
	m := &Msg{Header: Header{{"k", "v"}}, Data: data}
	if n := testing.AllocsPerRun(1000, func() { st.SendMsg(ctx, m) }); n != 0 {
		t.Errorf("Stream.SendMsg with headers allocates %v times per call", n)
	}
}
