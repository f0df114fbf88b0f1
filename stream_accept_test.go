package ferry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/server"
)

// Acceptance tests for streams and channels (docs/streams.md), end to end
// through a real server.

// reader reads one incoming stream to its end in a goroutine of its own,
// keeping every message, and counts them as they arrive so a test can
// watch its progress.
type reader struct {
	got  atomic.Int64  // messages taken so far
	done chan struct{} // closed when Recv failed or returned io.EOF
	msgs []*ferry.Msg  // every message, in order; read after done
	err  error         // how it ended; read after done
}

func newReader() *reader { return &reader{done: make(chan struct{})} }

// run reads in until it ends. gate, when not nil, is called after the
// i-th message; a slow reader blocks in it.
func (r *reader) run(ctx context.Context, in *ferry.IncomingStream, gate func(i int)) {
	defer close(r.done)
	for {
		m, err := in.Recv(ctx)
		if err != nil {
			r.err = err
			return
		}
		r.msgs = append(r.msgs, m)
		r.got.Add(1)
		if gate != nil {
			gate(len(r.msgs))
		}
	}
}

// wait waits for r to end, or fails the test when ctx ends first.
func (r *reader) wait(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	select {
	case <-r.done:
	case <-ctx.Done():
		t.Fatalf("%s still reading after %d messages: %v", who, r.got.Load(), ctx.Err())
	}
}

// threeReceivers opens a stream on subject from a sender to three
// receivers through the broker (the zero Target): two fast ones
// (HandleStreams, default window) and a slow one (ListenStreams, a window
// of slowWin messages) that stops reading after stallAfter messages until
// release is closed. stalled is closed when it stops.
type threeReceivers struct {
	st                *ferry.Stream
	slowIn            *ferry.IncomingStream
	fast              [2]*reader
	slow              *reader
	stalled, release  chan struct{}
	slowWin, stallAft int
}

func openToThree(t *testing.T, ctx context.Context, s *ferrytest.Server, subject string, slowWin, stallAfter int, opts ...ferry.StreamOption) *threeReceivers {
	t.Helper()
	x := &threeReceivers{slow: newReader(), stalled: make(chan struct{}), release: make(chan struct{}),
		slowWin: slowWin, stallAft: stallAfter}
	sender := dial(t, s)
	for i := range x.fast {
		r := newReader()
		x.fast[i] = r
		if _, err := dial(t, s).HandleStreams(subject, func(in *ferry.IncomingStream) { r.run(ctx, in, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := dial(t, s).ListenStreams(subject, ferry.WithWindow(slowWin, 0))
	if err != nil {
		t.Fatal(err)
	}
	x.st, err = sender.OpenStream(ctx, subject, ferry.Target{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if n := x.st.Receivers(); n != 3 {
		t.Fatalf("stream reached %d receivers, want 3", n)
	}
	x.slowIn, err = ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go x.slow.run(ctx, x.slowIn, func(i int) {
		if i != stallAfter {
			return
		}
		close(x.stalled)
		select {
		case <-x.release:
		case <-ctx.Done():
		}
	})
	return x
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestStreamToThreeOneSlow(t *testing.T) {
	const (
		total   = 1000 // messages in the stream
		slowWin = 16   // the slow receiver's window, in messages
		// The slow receiver stops after this many messages: a multiple of
		// half its window, where the client re-grants, so that its
		// cumulative grant is then exactly stallAfter + slowWin.
		stallAfter = 40
	)

	t.Run("paced by the slowest", func(t *testing.T) {
		s := ferrytest.New(t)
		ctx := timeout(t, 60*time.Second)
		x := openToThree(t, ctx, s, "dash.fix", slowWin, stallAfter)

		// Send until the broker holds the sender back: with the slow
		// receiver stalled, no further than its window beyond what it
		// consumed. A Send that waits 300 ms counts as held back; one that
		// times out earlier (the slow receiver still reading on a busy
		// machine) is retried.
		limit := stallAfter + slowWin
		sent := 0
		for {
			sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			err := x.st.Send(sctx, []byte(strconv.Itoa(sent+1)))
			cancel()
			if err == nil {
				sent++
				if sent > limit {
					t.Fatalf("sent %d messages while the slow receiver consumed at most %d with a window of %d",
						sent, stallAfter, slowWin)
				}
				continue
			}
			if !errors.Is(err, ferry.ErrTimeout) {
				t.Fatalf("Send %d: %v", sent+1, err)
			}
			if sent == limit && isClosed(x.stalled) {
				break // held back by the stalled receiver, as it should be
			}
			if ctx.Err() != nil {
				t.Fatalf("sender stuck after %d messages (slow receiver at %d)", sent, x.slow.got.Load())
			}
		}
		// The fast receivers get what was sent, and nothing more arrives.
		for i, r := range x.fast {
			eventually(t, fmt.Sprintf("fast receiver %d to get %d", i, limit), func() bool { return r.got.Load() >= int64(limit) })
		}
		if err := x.slowIn.Err(); err != nil {
			t.Fatalf("slow receiver's stream ended while paced: %v", err)
		}
		for i, r := range x.fast {
			if got := r.got.Load(); got > int64(stallAfter+slowWin) {
				t.Errorf("fast receiver %d got %d messages, more than the slow one's %d plus its window %d", i, got, stallAfter, slowWin)
			}
		}
		if got := x.slow.got.Load(); got != stallAfter {
			t.Fatalf("slow receiver took %d messages, want %d", got, stallAfter)
		}

		// Released, the slow receiver reads on and the stream completes
		// for all three.
		close(x.release)
		sendN(t, ctx, x.st, limit+1, total)
		if err := x.st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for i, r := range append(x.fast[:], x.slow) {
			r.wait(t, ctx, fmt.Sprintf("receiver %d", i))
			if r.err != io.EOF {
				t.Errorf("receiver %d: end %v after %d messages, want io.EOF", i, r.err, len(r.msgs))
			}
			if err := checkSeq(r.msgs, total); err != nil {
				t.Errorf("receiver %d: %v", i, err)
			}
		}
	})

	t.Run("cut slow", func(t *testing.T) {
		const stall = 200 * time.Millisecond
		s := ferrytest.New(t, server.Options{StallTimeout: stall})
		ctx := timeout(t, 60*time.Second)
		x := openToThree(t, ctx, s, "video.live", slowWin, stallAfter, ferry.WithCutSlow())

		// The sender goes on at the fast receivers' pace: held back at
		// most about the stall timeout, when the slow one is cut.
		start := time.Now()
		var longest time.Duration
		for i := 1; i <= total; i++ {
			t0 := time.Now()
			if err := x.st.Send(ctx, []byte(strconv.Itoa(i))); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
			longest = max(longest, time.Since(t0))
		}
		if err := x.st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		elapsed := time.Since(start)
		t.Logf("sent %d in %v; longest Send %v (stall timeout %v)", total, elapsed, longest, stall)
		if elapsed > 5*time.Second {
			t.Errorf("sending took %v with a stall timeout of %v", elapsed, stall)
		}
		if longest > time.Second {
			t.Errorf("a Send was held back %v with a stall timeout of %v", longest, stall)
		}
		for i, r := range x.fast {
			r.wait(t, ctx, fmt.Sprintf("fast receiver %d", i))
			if r.err != io.EOF {
				t.Errorf("fast receiver %d: end %v after %d messages, want io.EOF", i, r.err, len(r.msgs))
			}
			if err := checkSeq(r.msgs, total); err != nil {
				t.Errorf("fast receiver %d: %v", i, err)
			}
		}

		// The slow receiver was cut while stalled: after the messages it
		// had been sent (at most its window beyond what it took), Recv
		// reports ErrSlowReceiver.
		select {
		case <-x.slowIn.Done():
		case <-ctx.Done():
			t.Fatal("slow receiver's stream did not end")
		}
		close(x.release)
		x.slow.wait(t, ctx, "slow receiver")
		if !errors.Is(x.slow.err, ferry.ErrSlowReceiver) {
			t.Fatalf("slow receiver: end %v after %d messages, want ErrSlowReceiver", x.slow.err, len(x.slow.msgs))
		}
		if n := len(x.slow.msgs); n > stallAfter+slowWin {
			t.Errorf("slow receiver got %d messages, more than the %d it took plus its window of %d", n, stallAfter, slowWin)
		}
		if err := checkSeq(x.slow.msgs, len(x.slow.msgs)); err != nil {
			t.Errorf("slow receiver: %v", err)
		}
		if err := x.st.Err(); err != nil {
			t.Errorf("sender's Err after Close: %v", err)
		}
	})
}

// noLeak waits, polling until a deadline, for the number of goroutines to
// come back to within 2 of base, and fails with their stacks otherwise.
func noLeak(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base+2 {
			return
		}
		if time.Now().After(deadline) {
			var b bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d goroutines left, %d before the test:\n%s", n, base, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pump sends 1..n on ch (the payload is the number), then half-closes.
func pump(ctx context.Context, ch *ferry.Channel, n int) error {
	if err := trySendN(ctx, ch, 1, n); err != nil {
		return err
	}
	return ch.CloseSend()
}

// drain receives from ch, checking that 1..n arrive in order, then io.EOF.
func drain(ctx context.Context, ch *ferry.Channel, n int) error {
	for i := 1; i <= n; i++ {
		m, err := ch.Recv(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d messages: %w", i-1, n, err)
		}
		if m.Seq != uint64(i) || string(m.Data) != strconv.Itoa(i) {
			return fmt.Errorf("message %d: seq %d data %q", i, m.Seq, m.Data)
		}
	}
	if m, err := ch.Recv(ctx); err != io.EOF {
		if err == nil {
			return fmt.Errorf("message seq %d after the last one", m.Seq)
		}
		return fmt.Errorf("end after %d messages: %v, want io.EOF", n, err)
	}
	return nil
}

func TestChannelHundredThousandEachWay(t *testing.T) {
	const n = 100_000
	base := runtime.NumGoroutine()
	s := ferrytest.New(t)
	svc := dial(t, s, ferry.WithID("svc-100k"))
	cli := dial(t, s)
	ctx := timeout(t, 120*time.Second)
	ln, err := svc.Listen("bulk")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cli.Dial(ctx, ferry.ToEndpoint("svc-100k"), "bulk")
	if err != nil {
		t.Fatal(err)
	}
	sch, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Each side sends and receives at once, on goroutines of its own.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, f := range []func() error{
		func() error { return pump(ctx, ch, n) },
		func() error { return drain(ctx, ch, n) },
		func() error { return pump(ctx, sch, n) },
		func() error { return drain(ctx, sch, n) },
	} {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	for i, what := range []string{"dialer send", "dialer receive", "acceptor send", "acceptor receive"} {
		if errs[i] != nil {
			t.Errorf("%s: %v", what, errs[i])
		}
	}
	t.Logf("%d messages each way in %v", n, time.Since(start))
	for _, c := range []*ferry.Channel{ch, sch} {
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("channel not done after both half-closes")
		}
		if err := c.Err(); err != nil {
			t.Errorf("channel %d: Err %v after a clean end", c.ID(), err)
		}
	}
	ln.Close()
	cli.Close()
	svc.Close()
	s.Shutdown()
	noLeak(t, base)
}

func TestChannelPeerKilled(t *testing.T) {
	base := runtime.NumGoroutine()
	s := ferrytest.New(t)
	svc, cli := dial(t, s), dial(t, s)
	ctx := timeout(t, 20*time.Second)
	ln, err := svc.Listen("kill")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cli.Dial(ctx, ferry.ToEndpoint(svc.ID()), "kill")
	if err != nil {
		t.Fatal(err)
	}
	sch, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The channel works both ways.
	if err := ch.Send(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if m, err := sch.Recv(ctx); err != nil || string(m.Data) != "ping" {
		t.Fatalf("acceptor Recv: %v, %v", m, err)
	}
	if err := sch.Send(ctx, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	if m, err := ch.Recv(ctx); err != nil || string(m.Data) != "pong" {
		t.Fatalf("dialer Recv: %v, %v", m, err)
	}

	// The dialer waits in Recv when the acceptor's connection goes away.
	recvErr := make(chan error, 1)
	go func() {
		_, err := ch.Recv(ctx)
		recvErr <- err
	}()
	start := time.Now()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-recvErr:
		if !errors.Is(err, ferry.ErrPeerGone) {
			t.Fatalf("dialer Recv after the acceptor's connection closed: %v, want ErrPeerGone", err)
		}
		t.Logf("dialer noticed after %v", time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("dialer's Recv still waiting 2 s after the acceptor's connection closed")
	}
	if err := ch.Send(ctx, []byte("anyone?")); !errors.Is(err, ferry.ErrPeerGone) {
		t.Errorf("dialer Send after the peer left: %v, want ErrPeerGone", err)
	}
	if err := ch.Err(); !errors.Is(err, ferry.ErrPeerGone) {
		t.Errorf("dialer Err: %v, want ErrPeerGone", err)
	}
	if _, err := sch.Recv(ctx); !errors.Is(err, ferry.ErrClosed) {
		t.Errorf("acceptor Recv on its closed connection: %v, want ErrClosed", err)
	}
	if err := ch.Close(); !errors.Is(err, ferry.ErrPeerGone) {
		t.Errorf("dialer Close after the peer left: %v, want the error that ended it", err)
	}
	cli.Close()
	s.Shutdown()
	noLeak(t, base)
}
