package ferry

import (
	"context"
	"testing"

	"github.com/ferrymq/ferry/ferrytest"
)

// BenchmarkRequestBroker is BenchmarkRequest through the real broker
// (ferrytest) instead of the fake server, so the allocations counted are
// the client's and the broker's publish path (which does not allocate).
func BenchmarkRequestBroker(b *testing.B) {
	srv := ferrytest.New(b)
	client := dialServer(b, srv)
	server := dialServer(b, srv)
	if _, err := server.Respond("echo", func(m *Msg) []byte { return m.Data }); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 128)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Request(ctx, "echo", data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRequestAllocs bounds the allocations of a request with one responder
// through the real broker, whose publish path does not allocate: what is
// counted is both clients' (the requester's call, the responder's received
// message and reply, the reply received). It was 20 before reply delivery
// skipped the subscription queue and calls were pooled; 9 now.
func TestRequestAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("alloc counts are for full runs without the race detector")
	}
	srv := ferrytest.New(t)
	client := dialServer(t, srv)
	server := dialServer(t, srv)
	if _, err := server.Respond("echo", func(m *Msg) []byte { return m.Data }); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 128)
	ctx := context.Background()
	req := func() {
		if _, err := client.Request(ctx, "echo", data); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 { // warm the buffers and pools
		req()
	}
	const max = 12 // 9 measured, plus slack for the runtime (timers, GC)
	if n := testing.AllocsPerRun(500, req); n > max {
		t.Errorf("Request allocates %v times per call, want at most %d", n, max)
	}
}
