package ferry

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// connect dials s and closes the Conn when the test ends.
func connect(t testing.TB, s *fakeServer, opts ...Option) *Conn {
	t.Helper()
	c, err := Connect(s.url(), opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder collects async errors and states from a Conn's handlers.
type recorder struct {
	mu     sync.Mutex
	errs   []error
	states []State
}

func (r *recorder) options() []Option {
	return []Option{
		WithErrorHandler(func(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }),
		WithStateHandler(func(s State) { r.mu.Lock(); r.states = append(r.states, s); r.mu.Unlock() }),
	}
}

func (r *recorder) hasErr(target error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func (r *recorder) hasState(s State) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.states {
		if st == s {
			return true
		}
	}
	return false
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectHandshake(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, WithName("cam"), WithRegion("eu"), WithLabels("type", "camera", "subnet", "10.0.1.0/24"),
		WithLocation(50.11, 8.68), WithToken("secret"))
	if c.ID() != "ep-1" {
		t.Errorf("ID = %q, want ep-1 (assigned by the server)", c.ID())
	}
	if c.ServerURL() != s.url() {
		t.Errorf("ServerURL = %q, want %q", c.ServerURL(), s.url())
	}
	cn := s.lastConnect()
	want := wire.Connect{Version: wire.Version, Name: "cam", Region: "eu",
		Labels:      []wire.Label{{Key: "subnet", Value: "10.0.1.0/24"}, {Key: "type", Value: "camera"}},
		HasLocation: true, Lat: 50.11, Lon: 8.68, Token: "secret"}
	if cn.Version != want.Version || cn.Name != want.Name || cn.Region != want.Region || cn.Token != want.Token ||
		!cn.HasLocation || cn.Lat != want.Lat || cn.Lon != want.Lon || len(cn.Labels) != 2 ||
		cn.Labels[0] != want.Labels[0] || cn.Labels[1] != want.Labels[1] {
		t.Errorf("CONNECT = %+v, want %+v", cn, want)
	}
}

func TestConnectWithID(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, WithID("cam-7"))
	if c.ID() != "cam-7" {
		t.Fatalf("ID = %q, want cam-7", c.ID())
	}
	_, err := Connect(s.url(), WithID("cam-7"))
	var se *ServerError
	if !errors.Is(err, ErrIDInUse) || !errors.As(err, &se) || se.Code != uint16(wire.CodeIDInUse) {
		t.Fatalf("second Connect with the same ID: %v; want a *ServerError matching ErrIDInUse", err)
	}
}

func TestConnectRefused(t *testing.T) {
	s := newFakeServer(t)
	s.set(func(s *fakeServer) {
		s.refuse = func(*wire.Connect) *wire.Err { return &wire.Err{Code: wire.CodeVersion, Message: "old"} }
	})
	_, err := Connect(s.url())
	var se *ServerError
	if !errors.As(err, &se) || se.Code != uint16(wire.CodeVersion) {
		t.Fatalf("Connect = %v, want a *ServerError with CodeVersion", err)
	}
}

func TestConnectErrors(t *testing.T) {
	if _, err := Connect("http://x:1"); !errors.Is(err, ErrBadURL) {
		t.Errorf("bad URL: %v, want ErrBadURL", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Connect(addr, WithTimeout(time.Second)); err == nil {
		t.Errorf("Connect to a closed port succeeded")
	}
}

func TestConnectHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and say nothing
		nc, err := ln.Accept()
		if err == nil {
			defer nc.Close()
			nc.Read(make([]byte, 1024))
			nc.Read(make([]byte, 1024))
		}
	}()
	start := time.Now()
	if _, err := Connect(ln.Addr().String(), WithTimeout(100*time.Millisecond)); err == nil {
		t.Fatal("Connect to a silent server succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Connect took %v despite a 100ms timeout", d)
	}
}

func TestCloseIsIdempotentAndFinal(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, rec.options()...)
	sub, err := c.Subscribe("a", func(*Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !c.IsClosed() {
		t.Error("IsClosed = false after Close")
	}
	ctx := ctxTimeout(t, time.Second)
	checks := map[string]error{
		"Publish":     c.Publish("a", nil),
		"Flush":       c.Flush(ctx),
		"Unsubscribe": sub.Unsubscribe(),
	}
	_, checks["Subscribe"] = c.Subscribe("a", func(*Msg) {})
	_, checks["Request"] = c.Request(ctx, "a", nil)
	checks["Send"] = c.Send(ctx, "x", "a", nil)
	checks["Drain"] = c.Drain(ctx)
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	waitFor(t, "StateClosed", func() bool { return rec.hasState(StateClosed) })
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := newFakeServer(t)
	base := runtime.NumGoroutine()
	for range 3 {
		c, err := Connect(s.url(), WithPingInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := c.Subscribe("a.>", func(*Msg) {}); err != nil {
				t.Fatal(err)
			}
		}
		ch := make(chan *Msg) // never read: its pusher must still exit
		if _, err := c.SubscribeChan("a.b", ch); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Request(ctxTimeout(t, 10*time.Millisecond), "a.b", nil); err == nil {
			t.Fatal("Request without responders succeeded")
		}
		c.Publish("a.b", []byte("x"))
		// With 1ms pings the connection may be judged stale and redialled
		// meanwhile; either way Close must stop everything.
		if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil && !errors.Is(err, ErrDisconnected) {
			t.Fatal(err)
		}
		c.Close()
	}
	waitFor(t, "goroutines to return to the baseline", func() bool { return runtime.NumGoroutine() <= base })
}

func TestServerPingIsAnswered(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	s.conn(t).send(wire.Empty{Op: wire.OpPing})
	waitFor(t, "a PONG from the client", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pongs == 1
	})
	// The server's PING must not disturb the client's own PING/PONG pairing.
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("Flush after a server PING: %v", err)
	}
}

func TestKeepAlivePingDetectsDeadServer(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), WithPingInterval(20*time.Millisecond), WithReconnectWait(time.Millisecond, 5*time.Millisecond))...)
	s.set(func(s *fakeServer) { s.ignorePing = true })
	waitFor(t, "the stale connection to be detected", func() bool { return rec.hasState(StateDisconnected) })
	if !rec.hasErr(ErrDisconnected) || !rec.hasErr(errStale) {
		t.Errorf("error handler did not get ErrDisconnected caused by errStale: %v", rec.errs)
	}
	s.set(func(s *fakeServer) { s.ignorePing = false })
	waitFor(t, "reconnect", func() bool { return rec.hasState(StateReconnected) })
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("Flush after reconnect: %v", err)
	}
}

func TestFlushTimeout(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	s.set(func(s *fakeServer) { s.ignorePing = true })
	err := c.Flush(ctxTimeout(t, 20*time.Millisecond))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v, want ErrTimeout and DeadlineExceeded", err)
	}
}
