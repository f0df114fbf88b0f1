package ferry

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/internal/wire"
)

// framesOf returns the recorded stream frames of type T.
func framesOf[T wire.Frame](s *fakeServer) []T {
	var out []T
	for _, f := range s.streamFrames() {
		if g, ok := f.(T); ok {
			out = append(out, g)
		}
	}
	return out
}

// waitFrames waits until the fake has received n stream frames of type T.
func waitFrames[T wire.Frame](t *testing.T, s *fakeServer, n int) []T {
	t.Helper()
	var out []T
	waitFor(t, strconv.Itoa(n)+" frames", func() bool { out = framesOf[T](s); return len(out) >= n })
	return out
}

func (c *Conn) openFlows() int {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	return len(c.streams)
}

// answerOpens makes the fake answer every STREAM_OPEN with OK count n and,
// for n > 0, grant credit.
func answerOpens(s *fakeServer, n uint64, credit wire.StreamCredit) {
	s.set(func(s *fakeServer) {
		s.onStream = func(fc *fakeConn, f wire.Frame) {
			if o, ok := f.(*wire.StreamOpen); ok {
				fc.send(&wire.Ok{Ref: o.Ref, Count: n})
				if n > 0 && (credit.Msgs > 0 || credit.Bytes > 0) {
					cr := credit
					cr.Stream = o.Stream
					fc.send(&cr)
				}
			}
		}
	})
}

func TestOpenStreamSendsAndWaitsForCredit(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	answerOpens(s, 2, wire.StreamCredit{Msgs: 2, Bytes: 100})
	ctx := ctxTimeout(t, 5*time.Second)
	st, err := c.OpenStream(ctx, "gps.p1", Target{}, WithCutSlow(), WithStreamHeader("unit", "deg"), WithWindow(5, 5))
	if err != nil {
		t.Fatal(err)
	}
	if st.ID() != 1 || st.Receivers() != 2 {
		t.Fatalf("id %d receivers %d", st.ID(), st.Receivers())
	}
	open := framesOf[*wire.StreamOpen](s)[0]
	hs, _ := wire.ParseHeaders(open.Headers)
	if open.Stream != 1 || open.Flags != wire.StreamCutSlow || string(open.Subject) != "gps.p1" ||
		open.Target.Mode != wire.ModePublish || open.WindowMsgs != 0 || len(hs) != 1 || hs[0].Value != "deg" {
		t.Fatalf("open %+v", open)
	}
	for i := range 2 {
		if err := st.SendMsg(ctx, &Msg{Data: []byte("fix"), Header: Header{{"n", strconv.Itoa(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := st.Send(short, []byte("x")); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Send without credit: %v", err)
	}
	sent := make(chan error, 1)
	go func() { sent <- st.Send(ctx, []byte("third")) }()
	select { // the send waits for credit
	case err := <-sent:
		t.Fatalf("sent without credit: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	s.conn(t).send(&wire.StreamCredit{Stream: 1, Msgs: 1, Bytes: 10})
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if err := st.Send(ctx, make([]byte, 1<<20+1)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("oversized send: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	data := waitFrames[*wire.StreamData](t, s, 3)
	for i, d := range data {
		if d.Stream != 1 || d.Seq != uint64(i+1) {
			t.Fatalf("data %d: %+v", i, d)
		}
	}
	if string(data[2].Payload) != "third" {
		t.Fatalf("payload %q", data[2].Payload)
	}
	cl := waitFrames[*wire.StreamClose](t, s, 1)
	if cl[0].Stream != 1 || cl[0].Code != wire.StreamEnd {
		t.Fatalf("close %+v", cl[0])
	}
	st2, err := c.OpenStream(ctx, "gps.p1", Target{})
	if err != nil {
		t.Fatal(err)
	}
	if st2.ID() != 3 {
		t.Fatalf("second stream ID %d, want 3", st2.ID())
	}
	st2.Abort("bye")
	if !errors.Is(st2.Err(), ErrStreamAborted) {
		t.Fatalf("Err after Abort: %v", st2.Err())
	}
	if cl := waitFrames[*wire.StreamClose](t, s, 2); cl[1].Code != wire.StreamAborted || cl[1].Reason != "bye" {
		t.Fatalf("abort %+v", cl[1])
	}
	if n := c.openFlows(); n != 0 {
		t.Fatalf("%d flows still registered", n)
	}
}

func TestOpenStreamErrors(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	ctx := ctxTimeout(t, 5*time.Second)
	answerOpens(s, 0, wire.StreamCredit{})
	if _, err := c.OpenStream(ctx, "a", Target{}); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("count 0: %v", err)
	}
	if _, err := c.OpenStream(ctx, "a.*", Target{}); !errors.Is(err, ErrInvalidSubject) {
		t.Fatalf("wildcard: %v", err)
	}
	if _, err := c.Dial(ctx, Broadcast(), "svc"); !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("channel to a broadcast: %v", err)
	}
	s.set(func(s *fakeServer) {
		s.onStream = func(fc *fakeConn, f wire.Frame) {
			if o, ok := f.(*wire.StreamOpen); ok {
				fc.send(&wire.Err{Ref: o.Ref, Code: wire.CodeInvalidTarget, Message: "bad"})
			}
		}
	})
	var se *ServerError
	if _, err := c.OpenStream(ctx, "a", ToEndpoint("x")); !errors.As(err, &se) || !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("refused: %v", err)
	}
	s.set(func(s *fakeServer) { s.onStream = nil }) // never answers
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := c.OpenStream(short, "a", Target{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered: %v", err)
	}
	// The canceled open is taken down in case the broker opened it.
	cl := waitFrames[*wire.StreamClose](t, s, 1)
	if cl[0].Code != wire.StreamAborted {
		t.Fatalf("close after a canceled open: %+v", cl[0])
	}
	if n := c.openFlows(); n != 0 {
		t.Fatalf("%d flows still registered", n)
	}
}

func TestDialAnnouncesWindowAndRegrants(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	ctx := ctxTimeout(t, 5*time.Second)
	answerOpens(s, 1, wire.StreamCredit{})
	ch, err := c.Dial(ctx, ToEndpoint("echo-1"), "echo", WithWindow(5, 100))
	if err != nil {
		t.Fatal(err)
	}
	open := framesOf[*wire.StreamOpen](s)[0]
	if open.Flags != wire.StreamBidi || open.WindowMsgs != 5 || open.WindowBytes != 1<<20 ||
		open.Target.Mode != wire.ModeUnicast || string(open.Target.To) != "echo-1" {
		t.Fatalf("open %+v (the byte window is raised to the max payload)", open)
	}
	if ch.Peer() != "echo-1" {
		t.Fatalf("peer %q", ch.Peer())
	}
	fc := s.conn(t)
	for seq := uint64(1); seq <= 5; seq++ {
		fc.send(&wire.StreamData{Stream: ch.ID(), Seq: seq, Payload: []byte("abc")})
	}
	for i := range 2 {
		m, err := ch.Recv(ctx)
		if err != nil || m.Seq != uint64(i+1) || m.From != "echo-1" || m.Subject != "echo" {
			t.Fatalf("Recv %d: %+v %v", i, m, err)
		}
	}
	cr := waitFrames[*wire.StreamCredit](t, s, 1)
	if cr[0].Stream != ch.ID() || cr[0].Msgs != 2 || cr[0].Bytes != 6 {
		t.Fatalf("re-grant after half the window: %+v", cr[0])
	}
	fc.send(&wire.StreamClose{Stream: ch.ID(), Code: wire.StreamEnd}) // the peer's half-close
	for range 3 {
		if _, err := ch.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ch.Recv(ctx); err != io.EOF {
		t.Fatalf("after the peer's half-close: %v", err)
	}
	select {
	case <-ch.Done():
		t.Fatal("channel done before this side's half-close")
	default:
	}
	if err := ch.CloseSend(); err != nil {
		t.Fatal(err)
	}
	<-ch.Done()
	if ch.Err() != nil || c.openFlows() != 0 {
		t.Fatalf("Err %v, %d flows", ch.Err(), c.openFlows())
	}
}

func TestAcceptGrantsAndRefuses(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	ctx := ctxTimeout(t, 5*time.Second)
	ln, err := c.ListenStreams("gps.>", WithWindow(8, 0))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.Listen("svc")
	if err != nil {
		t.Fatal(err)
	}
	fc := s.conn(t)
	hb := wire.AppendHeaders(nil, []wire.HeaderField{{Key: "unit", Value: "deg"}})
	fc.send(&wire.StreamOpen{Stream: 2, Subject: []byte("gps.a"), From: []byte("phone"), Headers: hb})
	cr := waitFrames[*wire.StreamCredit](t, s, 1)[0]
	if cr.Stream != 2 || cr.Msgs != 8 || cr.Bytes != 1<<20 {
		t.Fatalf("initial grant %+v", cr)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID() != 2 || in.From() != "phone" || in.Subject() != "gps.a" || in.Header().Get("unit") != "deg" {
		t.Fatalf("incoming %d %q %q %v", in.ID(), in.From(), in.Subject(), in.Header())
	}
	fc.send(&wire.StreamOpen{Stream: 4, Subject: []byte("svc")})                           // one-way on a channel listener
	fc.send(&wire.StreamOpen{Stream: 6, Subject: []byte("gps.b"), Flags: wire.StreamBidi}) // channel on a stream listener
	fc.send(&wire.StreamOpen{Stream: 8, Subject: []byte("nobody")})
	fc.send(&wire.StreamOpen{Stream: 10, Subject: []byte("svc"), Flags: wire.StreamBidi, WindowMsgs: 1, WindowBytes: 10})
	closes := waitFrames[*wire.StreamClose](t, s, 3)
	want := map[uint64]wire.StreamClose{
		4: {Code: wire.StreamEnd},
		6: {Code: wire.StreamAborted, Reason: "not a one-way stream"},
		8: {Code: wire.StreamEnd},
	}
	for _, c := range closes {
		if w := want[c.Stream]; c.Code != w.Code || c.Reason != w.Reason {
			t.Errorf("close of %d: %+v, want %+v", c.Stream, c, w)
		}
	}
	ch, err := cl.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, []byte("1234567890")); err != nil { // the dialer's window: 1 message, 10 bytes
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := ch.Send(short, []byte("x")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Send past the dialer's window: %v", err)
	}

	// A receiver cut for being slow gets what arrived, then ErrSlowReceiver.
	fc.send(&wire.StreamData{Stream: 2, Seq: 1, Payload: []byte("a")})
	fc.send(&wire.StreamClose{Stream: 2, Code: wire.StreamSlow, Reason: "too slow"})
	if m, err := in.Recv(ctx); err != nil || string(m.Data) != "a" {
		t.Fatalf("Recv: %v %v", m, err)
	}
	if _, err := in.Recv(ctx); !errors.Is(err, ErrSlowReceiver) {
		t.Fatalf("Recv after the cut: %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := ln.Accept(ctx); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

func TestHandleStreamsLeavesWhenHandlerReturns(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	got := make(chan *Msg, 1)
	if _, err := c.HandleStreams("logs", func(in *IncomingStream) {
		m, _ := in.Recv(context.Background())
		got <- m
	}); err != nil {
		t.Fatal(err)
	}
	fc := s.conn(t)
	fc.send(&wire.StreamOpen{Stream: 2, Subject: []byte("logs"), From: []byte("app")})
	fc.send(&wire.StreamData{Stream: 2, Seq: 1, Payload: []byte("line")})
	if m := <-got; string(m.Data) != "line" || m.Seq != 1 {
		t.Fatalf("got %+v", m)
	}
	cl := waitFrames[*wire.StreamClose](t, s, 1)[0]
	if cl.Stream != 2 || cl.Code != wire.StreamEnd {
		t.Fatalf("close %+v", cl)
	}
	waitFor(t, "the flow to be released", func() bool { return c.openFlows() == 0 })
}

func TestStreamsFailOnDisconnect(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, WithReconnectWait(5*time.Millisecond, 10*time.Millisecond))
	ctx := ctxTimeout(t, 5*time.Second)
	var subs []wire.Sub
	s.set(func(s *fakeServer) {
		s.onSub = func(f *wire.Sub) *wire.Err { subs = append(subs, *f); return nil }
	})
	if _, err := c.ListenStreams("x"); err != nil {
		t.Fatal(err)
	}
	answerOpens(s, 1, wire.StreamCredit{Msgs: 1, Bytes: 10})
	st, err := c.OpenStream(ctx, "y", Target{})
	if err != nil {
		t.Fatal(err)
	}
	s.dropAll()
	<-st.Done()
	if !errors.Is(st.Err(), ErrDisconnected) {
		t.Fatalf("Err %v", st.Err())
	}
	if err := st.Send(ctx, []byte("x")); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Send %v", err)
	}
	waitFor(t, "the listener restored", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(subs) == 2
	})
	s.mu.Lock()
	if subs[1].Scope != wire.ScopeStream || subs[1].SID != subs[0].SID {
		t.Errorf("restored SUB %+v", subs[1])
	}
	s.mu.Unlock()
	c.Close()
	if _, err := c.OpenStream(ctx, "y", Target{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("OpenStream after Close: %v", err)
	}
}

func TestStreamScopeIsNotASubOption(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	if _, err := c.Subscribe("x", func(*Msg) {}, WithScope(ScopeStream)); !errors.Is(err, ErrBadSubscription) {
		t.Fatalf("WithScope(ScopeStream): %v", err)
	}
	if got := (ScopeInbox | ScopeStream).String(); got != "inbox|stream" {
		t.Fatalf("String %q", got)
	}
}

func TestBackpressureOptionOnSub(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	var got []wire.Sub
	s.set(func(s *fakeServer) {
		s.onSub = func(f *wire.Sub) *wire.Err { got = append(got, *f); return nil }
	})
	if _, err := c.Subscribe("x", func(*Msg) {}, WithBackpressure(BackpressureDropOldest, 8)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe("y", func(*Msg) {}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	if got[0].Backpressure != wire.BackpressureDropOldest || got[0].Limit != 8 || got[1].Backpressure != 0 || got[1].Limit != 0 {
		t.Errorf("SUBs %+v", got)
	}
	s.mu.Unlock()
	for _, bad := range []SubOption{WithBackpressure(9, 0), WithBackpressure(BackpressureBlock, -1)} {
		if _, err := c.Subscribe("z", func(*Msg) {}, bad); !errors.Is(err, ErrBadSubscription) {
			t.Errorf("bad option: %v", err)
		}
	}
	for i, name := range []string{"disconnect", "block", "drop-newest", "drop-oldest", "latest-per-key"} {
		p, err := ParseBackpressure(name)
		if err != nil || p != Backpressure(i) || p.String() != name {
			t.Errorf("%s: %v %v", name, p, err)
		}
	}
	if _, err := ParseBackpressure("drop"); err == nil {
		t.Error("ParseBackpressure accepted an unknown name")
	}
}

func TestServerDroppedHeader(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, rec.options()...)
	msgs := make(chan *Msg, 10)
	sub, err := c.SubscribeChan("x", msgs, WithBackpressure(BackpressureDropOldest, 8))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.SubscribeChan("y", msgs)
	if err != nil {
		t.Fatal(err)
	}
	fc := s.conn(t)
	send := func(sid uint64, subj string, hs ...wire.HeaderField) *Msg {
		fc.write(wire.AppendMsg(nil, sid, []byte(subj), nil, []byte("p"), 0, wire.AppendHeaders(nil, hs), []byte("d")))
		select {
		case m := <-msgs:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no message")
			return nil
		}
	}
	dropped := func(n string) wire.HeaderField { return wire.HeaderField{Key: wire.DroppedHeader, Value: n} }
	m := send(sub.sid, "x", wire.HeaderField{Key: "a", Value: "1"}, dropped("5"))
	if len(m.Header) != 1 || m.Header.Get("a") != "1" || sub.Dropped() != 5 {
		t.Fatalf("header %v, Dropped %d", m.Header, sub.Dropped())
	}
	if m := send(sub.sid, "x", dropped("5")); m.Header != nil {
		t.Fatalf("header %v", m.Header)
	}
	send(sub.sid, "x", dropped("7"))
	if sub.Dropped() != 7 {
		t.Fatalf("Dropped %d", sub.Dropped())
	}
	if m := send(plain.sid, "y", dropped("3")); m.Header.Get(wire.DroppedHeader) != "3" || plain.Dropped() != 0 {
		t.Fatalf("a subscription without a policy: header %v Dropped %d", m.Header, plain.Dropped())
	}
	waitFor(t, "two reports", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.errs) >= 2
	})
	time.Sleep(20 * time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.errs) != 2 || !errors.Is(rec.errs[0], ErrSlowConsumer) {
		t.Fatalf("reports %v, want one per change", rec.errs)
	}
	// A reconnect starts the server's count afresh; Dropped keeps the total.
	sub.newConnection()
	sub.serverDrops(Header{{wire.DroppedHeader, "2"}})
	if sub.Dropped() != 9 {
		t.Fatalf("Dropped after a reconnect %d, want 9", sub.Dropped())
	}
}

// TestStreamStateReleased opens and ends streams and channels in every way
// against a real server, then checks no flow stays registered and no
// goroutine is left once the connections are closed.
func TestStreamStateReleased(t *testing.T) {
	srv := ferrytest.New(t)
	base := runtime.NumGoroutine()
	a, err := Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	if _, err := b.HandleStreams("s.>", func(in *IncomingStream) {
		for {
			if _, err := in.Recv(ctx); err != nil {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := b.Listen("svc")
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			ch, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			if i%2 == 0 {
				echoInternal(ctx, ch)
			} else {
				ch.Close()
			}
		}
	}()
	for i := range 10 {
		st, err := a.OpenStream(ctx, "s.x", Target{})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			st.Close()
		} else {
			st.Abort("test")
		}
		ch, err := a.Dial(ctx, ToEndpoint(b.ID()), "svc")
		if err != nil {
			t.Fatal(err)
		}
		// The acceptor closes some channels at once, so the send may find
		// the channel aborted; any other failure is a bug.
		if err := ch.Send(ctx, []byte("y")); err != nil && !errors.Is(err, ErrStreamAborted) {
			t.Fatal(err)
		}
		ch.CloseSend()
		for {
			if _, err := ch.Recv(ctx); err != nil {
				break
			}
		}
		ch.Close()
	}
	waitFor(t, "flows released", func() bool { return a.openFlows() == 0 && b.openFlows() == 0 })
	a.Close()
	b.Close()
	wg.Wait()
	waitFor(t, "goroutines to return to the baseline", func() bool { return runtime.NumGoroutine() <= base })
}

func echoInternal(ctx context.Context, ch *Channel) {
	for {
		m, err := ch.Recv(ctx)
		if err != nil {
			ch.Close()
			return
		}
		if ch.Send(ctx, m.Data) != nil {
			return
		}
	}
}
