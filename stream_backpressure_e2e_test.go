package ferry_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

// A drop-oldest receiver that stalls does not pace the sender: the paced
// receiver gets every message in order, the lossy one the newest, with
// gaps, and the sender is done as soon as the paced one keeps up.
func TestE2EStreamLossyReceiverDoesNotPace(t *testing.T) {
	const n = 2000
	s := ferrytest.New(t)
	ctx := timeout(t, 30*time.Second)
	phone := dial(t, s, ferry.WithID("phone1"))

	paced := dial(t, s, ferry.WithID("paced"))
	got := make(chan []*ferry.Msg, 1)
	errs := make(chan error, 1)
	if _, err := paced.HandleStreams("gps.>", func(in *ferry.IncomingStream) {
		ms, err := collect(ctx, in)
		if !errors.Is(err, io.EOF) {
			errs <- err
		}
		got <- ms
	}); err != nil {
		t.Fatal(err)
	}

	dash := dial(t, s, ferry.WithID("dash"))
	l, err := dash.ListenStreams("gps.>", ferry.WithStreamBackpressure(ferry.BackpressureDropOldest, 8))
	if err != nil {
		t.Fatal(err)
	}

	st, err := phone.OpenStream(ctx, "gps.phone1", ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Receivers() != 2 {
		t.Fatalf("stream reached %d receivers, want 2", st.Receivers())
	}
	start := time.Now()
	sendN(t, ctx, st, 1, n)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("sending took %v: the stalled receiver paced the sender", d)
	}
	select {
	case ms := <-got:
		if err := checkSeq(ms, n); err != nil {
			t.Fatalf("paced receiver: %v", err)
		}
	case err := <-errs:
		t.Fatalf("paced receiver: %v", err)
	case <-ctx.Done():
		t.Fatal("paced receiver did not finish")
	}

	// The stalled receiver reads only now.
	in, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := collect(ctx, in)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("lossy receiver ended with %v", err)
	}
	if len(ms) == 0 || len(ms) >= n {
		t.Fatalf("lossy receiver got %d of %d messages", len(ms), n)
	}
	for i, m := range ms {
		if i > 0 && m.Seq <= ms[i-1].Seq {
			t.Fatalf("lossy receiver: seq %d after %d", m.Seq, ms[i-1].Seq)
		}
		if m.Header.Get("Ferry-Dropped") != "" {
			t.Fatalf("message %d kept the Ferry-Dropped header", m.Seq)
		}
	}
	if last := ms[len(ms)-1]; last.Seq != n || string(last.Data) != "2000" {
		t.Fatalf("lossy receiver's last message: seq %d %q, want the newest", last.Seq, last.Data)
	}
	if in.Dropped() == 0 || in.Dropped()+uint64(len(ms)) < n {
		t.Fatalf("lossy receiver got %d, Dropped %d; want %d in all", len(ms), in.Dropped(), n)
	}
	t.Logf("lossy receiver got %d of %d, dropped %d", len(ms), n, in.Dropped())
}

func TestStreamBackpressureOptionChecks(t *testing.T) {
	s := ferrytest.New(t)
	nc := dial(t, s)
	for _, p := range []ferry.Backpressure{ferry.BackpressureBlock, ferry.Backpressure(9)} {
		if _, err := nc.ListenStreams("x", ferry.WithStreamBackpressure(p, 0)); !errors.Is(err, ferry.ErrBadSubscription) {
			t.Errorf("ListenStreams with %v: %v", p, err)
		}
	}
	if _, err := nc.Listen("svc", ferry.WithStreamBackpressure(ferry.BackpressureDropOldest, 0)); !errors.Is(err, ferry.ErrBadSubscription) {
		t.Errorf("Listen with a drop policy: %v", err)
	}
	if _, err := nc.ListenStreams("x", ferry.WithStreamBackpressure(ferry.BackpressureDropNewest, -1)); !errors.Is(err, ferry.ErrBadSubscription) {
		t.Errorf("negative limit: %v", err)
	}
}
