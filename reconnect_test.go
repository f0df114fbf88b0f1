package ferry

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

var fastReconnect = WithReconnectWait(time.Millisecond, 10*time.Millisecond)

func TestReconnectRestoresSubscriptionsAndBuffer(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), fastReconnect)...)
	other := connect(t, s, WithReconnect(false))
	got := make(chan *Msg, 10)
	sub, err := c.Subscribe("a.>", func(m *Msg) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID()

	// Refuse reconnects with "ID in use" until released, as a server does
	// while it has not reaped the old connection yet.
	var hold atomic.Bool
	hold.Store(true)
	s.set(func(s *fakeServer) {
		s.refuse = func(cn *wire.Connect) *wire.Err {
			if cn.ID == id && hold.Load() {
				return &wire.Err{Code: wire.CodeIDInUse, Message: "in use"}
			}
			return nil
		}
	})
	connects := s.numConnects()
	s.conn2(t, id).nc.Close()
	waitFor(t, "StateDisconnected", func() bool { return rec.hasState(StateDisconnected) })
	waitFor(t, "refused attempts", func() bool { return s.numConnects() > connects+2 })

	// Published while disconnected: buffered.
	if err := c.Publish("a.buffered", []byte("1")); err != nil {
		t.Fatalf("Publish while disconnected: %v", err)
	}
	if err := c.Flush(ctxTimeout(t, time.Second)); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Flush while disconnected = %v, want ErrDisconnected", err)
	}
	if _, err := c.Request(ctxTimeout(t, time.Second), "x", nil); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Request while disconnected = %v, want ErrDisconnected", err)
	}
	late, err := c.Subscribe("late", func(m *Msg) { got <- m })
	if err != nil {
		t.Fatalf("Subscribe while disconnected: %v", err)
	}
	hold.Store(false)
	waitFor(t, "StateReconnected", func() bool { return rec.hasState(StateReconnected) })
	if c.ID() != id || s.lastConnect().ID != id {
		t.Errorf("reconnected as %q (asked %q), want %q", c.ID(), s.lastConnect().ID, id)
	}
	if m := recv(t, got); m.Subject != "a.buffered" || m.Sub != sub {
		t.Errorf("first message after reconnect: %q", m.Subject)
	}
	other.Publish("a.after", nil)
	other.Publish("late", nil)
	// Two subscriptions: their deliveries may interleave either way.
	bySub := map[*Subscription]string{}
	for range 2 {
		m := recv(t, got)
		bySub[m.Sub] = m.Subject
	}
	if bySub[sub] != "a.after" || bySub[late] != "late" {
		t.Errorf("restored subscription got %q, subscription made while disconnected got %q", bySub[sub], bySub[late])
	}
}

// conn2 returns the fake's connection for endpoint id.
func (s *fakeServer) conn2(t testing.TB, id string) *fakeConn {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	fc := s.ids[id]
	if fc == nil {
		t.Fatalf("no connection for %q", id)
	}
	return fc
}

func TestReconnectBufferLimit(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), fastReconnect, WithReconnectBuffer(100))...)
	s.set(func(s *fakeServer) {
		s.refuse = func(*wire.Connect) *wire.Err { return &wire.Err{Code: wire.CodeIDInUse, Message: "in use"} }
	})
	s.dropAll()
	waitFor(t, "StateDisconnected", func() bool { return rec.hasState(StateDisconnected) })
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = c.Publish("a", make([]byte, 10))
	}
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Publish past the reconnect buffer = %v, want ErrDisconnected", err)
	}
}

func TestPendingCallsFailOnDisconnect(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, fastReconnect)
	s.set(func(s *fakeServer) {
		s.onPub = func(*fakeConn, *wire.Pub) bool { return true } // never answer
	})
	errc := make(chan error, 2)
	go func() { errc <- c.Send(context.Background(), "x", "a", nil) }()
	go func() { _, err := c.Request(context.Background(), "a", nil); errc <- err }()
	waitFor(t, "both PUBs to be waiting", func() bool {
		c.refMu.Lock()
		defer c.refMu.Unlock()
		return len(c.refs) == 2
	})
	s.dropAll()
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrDisconnected) {
				t.Errorf("pending call = %v, want ErrDisconnected", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("pending call did not fail on disconnect")
		}
	}
}

func TestNoReconnect(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), WithReconnect(false))...)
	s.dropAll()
	waitFor(t, "StateClosed", func() bool { return rec.hasState(StateClosed) })
	if err := c.Publish("a", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish = %v, want ErrClosed", err)
	}
	if !rec.hasErr(ErrDisconnected) {
		t.Errorf("error handler did not get the cause")
	}
}

func TestMaxReconnects(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), fastReconnect, WithMaxReconnects(3))...)
	s.ln.Close()
	s.dropAll()
	waitFor(t, "StateClosed", func() bool { return rec.hasState(StateClosed) })
	if !c.IsClosed() {
		t.Fatal("not closed after giving up")
	}
}

func TestZeroReconnects(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), WithMaxReconnects(0))...)
	s.dropAll()
	waitFor(t, "StateClosed", func() bool { return rec.hasState(StateClosed) })
	if !c.IsClosed() {
		t.Fatal("not closed")
	}
}

func TestReconnectFatalRefusal(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), fastReconnect)...)
	s.set(func(s *fakeServer) {
		s.refuse = func(*wire.Connect) *wire.Err { return &wire.Err{Code: wire.CodeVersion, Message: "upgrade"} }
	})
	s.dropAll()
	waitFor(t, "StateClosed", func() bool { return rec.hasState(StateClosed) })
	if !c.IsClosed() || !rec.hasErr(ErrDisconnected) {
		t.Fatalf("closed=%v errs=%v", c.IsClosed(), rec.errs)
	}
}

func TestCloseWhileReconnecting(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), WithReconnectWait(time.Hour, time.Hour))...)
	s.dropAll()
	waitFor(t, "StateDisconnected", func() bool { return rec.hasState(StateDisconnected) })
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked while waiting to reconnect")
	}
}
