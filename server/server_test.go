package server

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero value", Options{}, true},
		{"negative payload", Options{MaxPayload: -1}, false},
		{"payload over hard limit", Options{MaxPayload: 65 << 20, MaxPending: 128 << 20}, false},
		{"pending below payload", Options{MaxPayload: 2 << 20, MaxPending: 1 << 20}, false},
		{"negative timeout", Options{WriteTimeout: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("error %v does not match ErrInvalidOptions", err)
			}
		})
	}
}

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start = %v, want ErrStarted", err)
	}
	return s
}

func dial(t *testing.T, s *Server, id string) (net.Conn, *wire.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.Write((&wire.Connect{Version: wire.Version, ID: id}).Append(nil))
	r := wire.NewReader(nc, 1<<22)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if op, _, err := r.Next(); err != nil || op != wire.OpInfo {
		t.Fatalf("handshake: %v %v", op, err)
	}
	return nc, r
}

// TestShutdownFlushesPending publishes a burst and shuts down at once: the
// subscriber still receives every message, then ERR "shutting down".
func TestShutdownFlushesPending(t *testing.T) {
	s := startServer(t)
	subConn, subR := dial(t, s, "sub")
	subConn.Write((&wire.Sub{Ref: 1, SID: 1, Pattern: []byte("x")}).Append(nil))
	if op, _, _ := subR.Next(); op != wire.OpOk {
		t.Fatalf("SUB answered %v", op)
	}
	pubConn, pubR := dial(t, s, "pub")
	const n = 5000
	var buf []byte
	for range n {
		buf = (&wire.Pub{Subject: []byte("x"), Payload: make([]byte, 64)}).Append(buf)
	}
	buf = (&wire.Pub{Ref: 9, Subject: []byte("x")}).Append(buf)
	pubConn.Write(buf)
	if op, _, _ := pubR.Next(); op != wire.OpOk { // all n+1 were routed
		t.Fatalf("PUB answered %v", op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got := 0
	for {
		op, body, err := subR.Next()
		if err != nil {
			t.Fatalf("after %d messages: %v (want ERR shutdown)", got, err)
		}
		if op == wire.OpMsg {
			got++
			continue
		}
		var e wire.Err
		if op != wire.OpErr || e.Decode(body) != nil || e.Code != wire.CodeShutdown {
			t.Fatalf("after %d messages got %v", got, op)
		}
		break
	}
	if got != n+1 {
		t.Fatalf("subscriber got %d of %d before shutdown", got, n+1)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Shutdown")
	}
	if st := s.Stats(); st.MsgsIn != n+1 || st.MsgsOut != n+1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil || s.URL() != "" {
		t.Fatal("address before Start")
	}
}

// TestIdleConnectionIsPingedThenClosed: a client that never answers PING is
// closed with ERR idle timeout after MaxPingsOut further silent intervals.
func TestIdleConnectionIsPingedThenClosed(t *testing.T) {
	s, err := New(Options{Listen: "127.0.0.1:0", PingInterval: 50 * time.Millisecond, MaxPingsOut: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	_, r := dial(t, s, "sleepy")
	pings := 0
	for {
		op, body, err := r.Next()
		if err != nil {
			t.Fatalf("after %d pings: %v (want ERR idle timeout)", pings, err)
		}
		if op == wire.OpPing {
			pings++
			continue
		}
		var e wire.Err
		if op != wire.OpErr || e.Decode(body) != nil || e.Code != wire.CodeIdleTimeout {
			t.Fatalf("got %v %+v", op, e)
		}
		break
	}
	if pings != 2 {
		t.Fatalf("%d pings before the idle timeout, want 2", pings)
	}
}
