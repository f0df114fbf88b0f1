package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/server"
)

// collect reads s to its end and returns the messages and the final error.
func collect(ctx context.Context, s *ferry.IncomingStream) ([]*ferry.Msg, error) {
	var out []*ferry.Msg
	for {
		m, err := s.Recv(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

// checkSeq reports the first message out of order: seq and payload must be
// 1..n.
func checkSeq(ms []*ferry.Msg, n int) error {
	if len(ms) != n {
		return fmt.Errorf("got %d messages, want %d", len(ms), n)
	}
	for i, m := range ms {
		if m.Seq != uint64(i+1) || string(m.Data) != strconv.Itoa(i+1) {
			return fmt.Errorf("message %d: seq %d data %q", i, m.Seq, m.Data)
		}
	}
	return nil
}

type sender interface {
	Send(context.Context, []byte) error
}

// sendN sends the payloads "from".."to".
func sendN(t *testing.T, ctx context.Context, s sender, from, to int) {
	t.Helper()
	if err := trySendN(ctx, s, from, to); err != nil {
		t.Fatal(err)
	}
}

func trySendN(ctx context.Context, s sender, from, to int) error {
	for i := from; i <= to; i++ {
		if err := s.Send(ctx, []byte(strconv.Itoa(i))); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
	}
	return nil
}

func TestE2EStreamGPSToEveryDashboard(t *testing.T) {
	s := ferrytest.New(t)
	phone := dial(t, s, ferry.WithID("phone1"))
	type result struct {
		dash string
		msgs []*ferry.Msg
		err  error
		from string
	}
	results := make(chan result, 2)
	ctx := timeout(t, 20*time.Second)
	for _, id := range []string{"dash1", "dash2"} {
		d := dial(t, s, ferry.WithID(id))
		if _, err := d.HandleStreams("gps.>", func(in *ferry.IncomingStream) {
			ms, err := collect(ctx, in)
			results <- result{id, ms, err, in.From()}
		}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := phone.OpenStream(ctx, "gps.phone1", ferry.Target{}, ferry.WithStreamHeader("unit", "deg"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Receivers() != 2 || st.ID()%2 != 1 {
		t.Fatalf("receivers %d, id %d", st.Receivers(), st.ID())
	}
	sendN(t, ctx, st, 1, 1000)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := <-results
		if r.err != io.EOF {
			t.Errorf("%s: end %v, want io.EOF", r.dash, r.err)
		}
		if err := checkSeq(r.msgs, 1000); err != nil {
			t.Errorf("%s: %v", r.dash, err)
		}
		if r.from != "phone1" || r.msgs[0].From != "phone1" || r.msgs[0].Subject != "gps.phone1" {
			t.Errorf("%s: from %q / %q subject %q", r.dash, r.from, r.msgs[0].From, r.msgs[0].Subject)
		}
	}
	select {
	case <-st.Done():
	default:
		t.Error("stream not done after Close")
	}
	if st.Err() != nil || st.Close() != nil {
		t.Errorf("Err %v after Close", st.Err())
	}
	if err := st.Send(ctx, []byte("late")); !errors.Is(err, ferry.ErrStreamClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestE2EStreamFlowControl(t *testing.T) {
	s := ferrytest.New(t)
	sender := dial(t, s)
	recv := dial(t, s, ferry.WithID("slowpoke"))
	ln, err := recv.ListenStreams("flow", ferry.WithWindow(10, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 20*time.Second)
	st, err := sender.OpenStream(ctx, "flow", ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	sent := 0
	for {
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := st.Send(sctx, payload)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ferry.ErrTimeout) {
				t.Fatalf("blocked Send: %v", err)
			}
			break
		}
		sent++
		if sent > 10 {
			t.Fatalf("Send did not block after the window")
		}
	}
	if sent != 10 {
		t.Fatalf("sent %d before blocking, want the window of 10", sent)
	}
	eps, err := recv.Endpoints(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if ep.ID == "slowpoke" && ep.PendingBytes > 10*1100 {
			t.Errorf("server holds %d bytes for the receiver, more than its window", ep.PendingBytes)
		}
	}
	// The receiver reads: the sender goes on.
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 40; i++ {
			if err := st.Send(ctx, payload); err != nil {
				done <- err
				return
			}
		}
		done <- st.Close()
	}()
	ms, err := collect(ctx, in)
	if err != io.EOF {
		t.Fatalf("receiver end: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(ms) != 50 || ms[49].Seq != 50 {
		t.Fatalf("receiver got %d messages", len(ms))
	}
}

func TestE2EStreamPacedBySlowest(t *testing.T) {
	s := ferrytest.New(t)
	sender := dial(t, s)
	fast, slow := dial(t, s), dial(t, s)
	ctx := timeout(t, 20*time.Second)
	var mu sync.Mutex
	fastGot := 0
	if _, err := fast.HandleStreams("pace", func(in *ferry.IncomingStream) {
		for {
			if _, err := in.Recv(ctx); err != nil {
				return
			}
			mu.Lock()
			fastGot++
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := slow.ListenStreams("pace", ferry.WithWindow(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sender.OpenStream(ctx, "pace", ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for sent < 100 {
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := st.Send(sctx, []byte(strconv.Itoa(sent+1)))
		cancel()
		if err != nil {
			break
		}
		sent++
	}
	if sent != 10 {
		t.Fatalf("sent %d with a slow receiver's window of 10", sent)
	}
	eventually(t, "the fast receiver to get 10", func() bool { mu.Lock(); defer mu.Unlock(); return fastGot == 10 })
	go func() {
		if err := trySendN(ctx, st, 11, 30); err != nil {
			t.Error(err)
		}
		st.Close()
	}()
	ms, err := collect(ctx, in)
	if err != io.EOF {
		t.Fatal(err)
	}
	if err := checkSeq(ms, 30); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the fast receiver to get 30", func() bool { mu.Lock(); defer mu.Unlock(); return fastGot == 30 })
}

func TestE2EStreamCutSlow(t *testing.T) {
	s := ferrytest.New(t, server.Options{StallTimeout: 200 * time.Millisecond})
	sender := dial(t, s)
	fast, slow := dial(t, s), dial(t, s)
	ctx := timeout(t, 20*time.Second)
	fastDone := make(chan []*ferry.Msg, 1)
	if _, err := fast.HandleStreams("video", func(in *ferry.IncomingStream) {
		ms, err := collect(ctx, in)
		if err != io.EOF {
			t.Errorf("fast receiver: %v", err)
		}
		fastDone <- ms
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := slow.ListenStreams("video", ferry.WithWindow(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sender.OpenStream(ctx, "video", ferry.Target{}, ferry.WithCutSlow())
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sendN(t, ctx, st, 1, 300)
	st.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("sending took %v", d)
	}
	if err := checkSeq(<-fastDone, 300); err != nil {
		t.Fatalf("fast receiver: %v", err)
	}
	ms, err := collect(ctx, in)
	if !errors.Is(err, ferry.ErrSlowReceiver) {
		t.Fatalf("slow receiver's end: %v (after %d messages)", err, len(ms))
	}
	if err := checkSeq(ms, len(ms)); err != nil || len(ms) > 10 {
		t.Fatalf("slow receiver got %d messages: %v", len(ms), err)
	}
	if !errors.Is(in.Err(), ferry.ErrSlowReceiver) {
		t.Fatalf("Err %v", in.Err())
	}
}

func TestE2EStreamDirectAndAnycast(t *testing.T) {
	s := ferrytest.New(t)
	sender := dial(t, s, ferry.WithLocation(52.52, 13.40))
	var mu sync.Mutex
	got := map[string]int{}
	ctx := timeout(t, 20*time.Second)
	locs := map[string][2]float64{"berlin": {52.52, 13.40}, "paris": {48.86, 2.35}, "rome": {41.9, 12.5}}
	for id, loc := range locs {
		c := dial(t, s, ferry.WithID(id), ferry.WithLocation(loc[0], loc[1]), ferry.WithLabels("svc", "tiles"))
		if _, err := c.HandleStreams("tiles.>", func(in *ferry.IncomingStream) {
			ms, _ := collect(ctx, in)
			mu.Lock()
			got[id] += len(ms)
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(target ferry.Target, wantID string) {
		t.Helper()
		mu.Lock()
		clear(got)
		mu.Unlock()
		st, err := sender.OpenStream(ctx, "tiles.eu", target)
		if err != nil {
			t.Fatal(err)
		}
		if st.Receivers() != 1 {
			t.Fatalf("%v reached %d", target, st.Receivers())
		}
		sendN(t, ctx, st, 1, 5)
		st.Close()
		eventually(t, wantID+" to get 5", func() bool { mu.Lock(); defer mu.Unlock(); return got[wantID] == 5 })
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("%v: receivers %v, want only %s", target, got, wantID)
		}
	}
	run(ferry.ToEndpoint("rome"), "rome")
	run(ferry.Anycast(ferry.Nearest), "berlin")
	run(ferry.Anycast(ferry.Nearest).Where("svc=tiles").Near(48.8, 2.3), "paris")

	if _, err := sender.OpenStream(ctx, "tiles.eu", ferry.ToEndpoint("nobody")); !errors.Is(err, ferry.ErrNoResponders) {
		t.Fatalf("stream to nobody: %v", err)
	}
	if _, err := sender.OpenStream(ctx, "other", ferry.Target{}); !errors.Is(err, ferry.ErrNoResponders) {
		t.Fatalf("stream on an unaccepted subject: %v", err)
	}
}

// echo serves one channel: it sends back what it receives until the
// peer's half-close, then half-closes.
func echo(ctx context.Context, ch *ferry.Channel) error {
	for {
		m, err := ch.Recv(ctx)
		if err == io.EOF {
			return ch.CloseSend()
		}
		if err != nil {
			return err
		}
		if err := ch.SendMsg(ctx, &ferry.Msg{Header: m.Header, Data: m.Data}); err != nil {
			return err
		}
	}
}

func TestE2EChannelEcho(t *testing.T) {
	s := ferrytest.New(t)
	svc := dial(t, s, ferry.WithID("echo-1"))
	cli := dial(t, s, ferry.WithID("client"))
	ctx := timeout(t, 20*time.Second)
	ln, err := svc.Listen("echo", ferry.WithWindow(4, 0))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan *ferry.Channel, 1)
	serveErr := make(chan error, 1)
	go func() {
		ch, err := ln.Accept(ctx)
		if err != nil {
			serveErr <- err
			return
		}
		served <- ch
		serveErr <- echo(ctx, ch)
	}()
	ch, err := cli.Dial(ctx, ferry.ToEndpoint("echo-1"), "echo", ferry.WithWindow(3, 0), ferry.WithStreamHeader("user", "ada"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Peer() != "echo-1" || ch.Service() != "echo" || ch.ID()%2 != 1 {
		t.Fatalf("peer %q service %q id %d", ch.Peer(), ch.Service(), ch.ID())
	}
	go func() {
		if err := trySendN(ctx, ch, 1, 100); err != nil {
			t.Error(err)
		}
	}()
	var ms []*ferry.Msg
	for len(ms) < 100 {
		m, err := ch.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if err := checkSeq(ms, 100); err != nil {
		t.Fatal(err)
	}
	sch := <-served
	if sch.Peer() != "client" || sch.Header().Get("user") != "ada" || sch.ID()%2 != 0 {
		t.Fatalf("acceptor: peer %q header %v id %d", sch.Peer(), sch.Header(), sch.ID())
	}
	if err := ch.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := <-serveErr; err != nil {
		t.Fatalf("echo: %v", err)
	}
	if _, err := ch.Recv(ctx); err != io.EOF {
		t.Fatalf("Recv after the peer's half-close: %v", err)
	}
	for _, c := range []*ferry.Channel{ch, sch} {
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("channel not done after both half-closes")
		}
		if c.Err() != nil {
			t.Errorf("Err after a clean end: %v", c.Err())
		}
	}
	if err := ch.Send(ctx, []byte("x")); !errors.Is(err, ferry.ErrStreamClosed) {
		t.Errorf("Send after CloseSend: %v", err)
	}
}

func TestE2EChannelCloseAbortsPeer(t *testing.T) {
	s := ferrytest.New(t)
	svc, cli := dial(t, s), dial(t, s)
	ctx := timeout(t, 10*time.Second)
	ln, err := svc.Listen("chat")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cli.Dial(ctx, ferry.Anycast(ferry.RoundRobin), "chat")
	if err != nil {
		t.Fatal(err)
	}
	sch, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Recv(ctx); !errors.Is(err, ferry.ErrStreamAborted) {
		t.Fatalf("dialer Recv after the acceptor's Close: %v", err)
	}
	if _, err := sch.Recv(ctx); !errors.Is(err, ferry.ErrStreamClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(ctx); !errors.Is(err, ferry.ErrStreamClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if err := svc.Flush(ctx); err != nil { // the server has processed the UNSUB
		t.Fatal(err)
	}
	if _, err := cli.Dial(ctx, ferry.ToEndpoint(svc.ID()), "chat"); !errors.Is(err, ferry.ErrNoResponders) {
		t.Fatalf("Dial after the listener closed: %v", err)
	}
	if _, err := cli.Dial(ctx, ferry.Target{}, "chat"); !errors.Is(err, ferry.ErrInvalidTarget) {
		t.Fatalf("Dial to subscribers: %v", err)
	}
}

func TestE2EStreamPeerDeath(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)

	t.Run("channel", func(t *testing.T) {
		svc, cli := dial(t, s), dial(t, s)
		ln, err := svc.Listen("chat")
		if err != nil {
			t.Fatal(err)
		}
		ch, err := cli.Dial(ctx, ferry.ToEndpoint(svc.ID()), "chat")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ln.Accept(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		svc.Close()
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := ch.Recv(rctx); !errors.Is(err, ferry.ErrPeerGone) {
			t.Fatalf("Recv: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("noticed after %v", d)
		}
		if err := ch.Send(ctx, []byte("x")); !errors.Is(err, ferry.ErrPeerGone) {
			t.Fatalf("Send: %v", err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		recv, sender := dial(t, s), dial(t, s)
		st, _ := openAccepted(t, ctx, recv, sender, "logs")
		recv.Close()
		select {
		case <-st.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("sender not told within 2s")
		}
		if err := st.Err(); !errors.Is(err, ferry.ErrPeerGone) || !errors.Is(err, ferry.ErrNoResponders) {
			t.Fatalf("Err: %v", err)
		}
		if err := st.Send(ctx, []byte("x")); !errors.Is(err, ferry.ErrPeerGone) {
			t.Fatalf("Send: %v", err)
		}
	})
	t.Run("sender", func(t *testing.T) {
		recv, sender := dial(t, s), dial(t, s)
		st, in := openAccepted(t, ctx, recv, sender, "logs")
		sendN(t, ctx, st, 1, 3)
		sender.Close()
		ms, err := collect(ctx, in)
		if !errors.Is(err, ferry.ErrPeerGone) || len(ms) != 3 {
			t.Fatalf("receiver got %d, then %v", len(ms), err)
		}
	})
}

func TestE2EStreamsFailOnReconnectListenersStay(t *testing.T) {
	s := ferrytest.New(t)
	recv := dial(t, s, ferry.WithID("r"), ferry.WithReconnectWait(10*time.Millisecond, 50*time.Millisecond))
	sender := dial(t, s, ferry.WithID("s"), ferry.WithReconnectWait(10*time.Millisecond, 50*time.Millisecond))
	ctx := timeout(t, 20*time.Second)
	ln, err := recv.ListenStreams("x")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sender.OpenStream(ctx, "x", ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	for _, done := range []<-chan struct{}{st.Done(), in.Done()} {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("stream survived a lost connection")
		}
	}
	if !errors.Is(st.Err(), ferry.ErrDisconnected) && !errors.Is(st.Err(), ferry.ErrPeerGone) {
		t.Fatalf("sender Err: %v", st.Err())
	}
	if _, err := in.Recv(ctx); !errors.Is(err, ferry.ErrDisconnected) && !errors.Is(err, ferry.ErrPeerGone) {
		t.Fatalf("receiver Recv: %v", err)
	}
	// The listener is restored: a new stream reaches it.
	var st2 *ferry.Stream
	eventually(t, "a stream after the reconnect", func() bool {
		st2, err = sender.OpenStream(ctx, "x", ferry.Target{})
		return err == nil
	})
	in2, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendN(t, ctx, st2, 1, 3)
	st2.Close()
	ms, err := collect(ctx, in2)
	if err != io.EOF || checkSeq(ms, 3) != nil {
		t.Fatalf("after reconnect: %d messages, %v", len(ms), err)
	}
}

// openAccepted opens a stream from sender on subject to recv's listener and
// returns both ends.
func openAccepted(t *testing.T, ctx context.Context, recv, sender *ferry.Conn, subject string) (*ferry.Stream, *ferry.IncomingStream) {
	t.Helper()
	ln, err := recv.ListenStreams(subject)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sender.OpenStream(ctx, subject, ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, in
}
