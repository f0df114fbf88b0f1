package native

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

func testConfig() Config {
	return Config{
		ServerName: "test", MaxPayload: 1 << 20, MaxHeaders: 64 << 10, MaxPending: 4 << 20,
		MaxConns: 100, HandshakeTimeout: 300 * time.Millisecond, WriteTimeout: 2 * time.Second,
		PingInterval: time.Minute, MaxPingsOut: 2, Logger: slog.New(slog.DiscardHandler),
	}
}

// startGateway serves a fresh broker on a loopback port.
func startGateway(t testing.TB, cfg Config) (*Gateway, *broker.Broker, string) {
	t.Helper()
	return startGatewayWith(t, cfg, broker.Config{})
}

// startGatewayWith serves a broker built from bcfg on a loopback port.
func startGatewayWith(t testing.TB, cfg Config, bcfg broker.Config) (*Gateway, *broker.Broker, string) {
	t.Helper()
	b := broker.New(bcfg)
	g := New(b, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return g, b, ln.Addr().String()
}

// rawClient speaks frames directly, for tests that need to misbehave.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	r  *wire.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, r: wire.NewReader(nc, 8<<20)}
}

func connectRaw(t testing.TB, addr, id string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.write((&wire.Connect{Version: wire.Version, ID: id}).Append(nil))
	if f := c.next(); f == nil {
		t.Fatal("no INFO")
	} else if _, ok := f.(*wire.Info); !ok {
		t.Fatalf("handshake answered %#v", f)
	}
	return c
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, or nil when the connection ended.
func (c *rawClient) next() wire.Frame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	op, body, err := c.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil
		}
		c.t.Fatalf("read: %v", err)
	}
	f, err := wire.Decode(op, body)
	if err != nil {
		c.t.Fatalf("decode: %v", err)
	}
	return f
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// nextErr reads frames until an ERR and returns it.
func (c *rawClient) nextErr() *wire.Err {
	c.t.Helper()
	for {
		f := c.next()
		if f == nil {
			c.t.Fatal("connection ended without ERR")
		}
		if e, ok := f.(*wire.Err); ok {
			return e
		}
	}
}

func (c *rawClient) sub(sid uint64, pattern string) {
	c.t.Helper()
	c.write((&wire.Sub{Ref: sid, SID: sid, Pattern: []byte(pattern)}).Append(nil))
	if ok, isOk := c.next().(*wire.Ok); !isOk || ok.Ref != sid {
		c.t.Fatalf("SUB %s not acknowledged", pattern)
	}
}

func TestPubSubOverTCP(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	sub := connectRaw(t, addr, "sub-1")
	sub.sub(1, "orders.*")
	pub := connectRaw(t, addr, "")
	pub.write((&wire.Pub{Ref: 5, Subject: []byte("orders.eu"), Payload: []byte("hi")}).Append(nil))
	if ok, _ := pub.next().(*wire.Ok); ok == nil || ok.Ref != 5 || ok.Count != 1 {
		t.Fatalf("publisher got %#v, want OK ref 5 count 1", ok)
	}
	m, _ := sub.next().(*wire.Msg)
	if m == nil || string(m.Subject) != "orders.eu" || string(m.Payload) != "hi" || m.SID != 1 {
		t.Fatalf("subscriber got %#v", m)
	}
}

func TestMalformedFrameGetsErrAndOthersSurvive(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	good := connectRaw(t, addr, "good")
	good.sub(1, "x")
	tests := []struct {
		name  string
		frame []byte
		code  wire.Code
	}{
		{"unknown op", []byte{0, 0, 0, 1, 99}, wire.CodeProtocol},
		{"truncated pub body", []byte{0, 0, 0, 3, byte(wire.OpPub), 0, 9}, wire.CodeProtocol},
		{"msg from client", (&wire.Msg{SID: 1, Subject: []byte("x")}).Append(nil), wire.CodeProtocol},
		{"too large", []byte{0x7f, 0, 0, 0, byte(wire.OpPub)}, wire.CodeFrameTooLarge},
		{"second connect", (&wire.Connect{Version: wire.Version}).Append(nil), wire.CodeProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := connectRaw(t, addr, "")
			bad.write(tt.frame)
			if e := bad.nextErr(); e.Code != tt.code {
				t.Fatalf("ERR code %v (%s), want %v", e.Code, e.Message, tt.code)
			}
			if f := bad.next(); f != nil {
				t.Fatalf("connection still open after fatal ERR: %#v", f)
			}
		})
	}
	pub := connectRaw(t, addr, "")
	pub.write((&wire.Pub{Subject: []byte("x"), Payload: []byte("still here")}).Append(nil))
	if m, _ := good.next().(*wire.Msg); m == nil || string(m.Payload) != "still here" {
		t.Fatalf("good client got %#v", m)
	}
}

func TestValidationErrorsLeaveConnectionUsable(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	c := connectRaw(t, addr, "")
	tests := []struct {
		name  string
		frame []byte
		code  wire.Code
	}{
		{"wildcard publish", (&wire.Pub{Ref: 1, Subject: []byte("a.*")}).Append(nil), wire.CodeInvalidSubject},
		{"empty token", (&wire.Pub{Ref: 2, Subject: []byte("a..b")}).Append(nil), wire.CodeInvalidSubject},
		{"payload too large", (&wire.Pub{Ref: 3, Subject: []byte("a"), Payload: make([]byte, 1<<20+1)}).Append(nil), wire.CodePayloadTooLarge},
		{"bad headers", (&wire.Pub{Ref: 4, Subject: []byte("a"), Headers: []byte{5}}).Append(nil), wire.CodeInvalidHeaders},
		{"bad pattern", (&wire.Sub{Ref: 5, SID: 1, Pattern: []byte("a.>.b")}).Append(nil), wire.CodeInvalidSubject},
		{"unknown sid", (&wire.Unsub{Ref: 6, SID: 77}).Append(nil), wire.CodeUnknownSID},
		{"bad policy", (&wire.Pub{Ref: 7, Subject: []byte("a"), Target: wire.Target{Mode: wire.ModeAnycast, Policy: 9}}).Append(nil), wire.CodeInvalidTarget},
		{"bad selector", (&wire.Pub{Ref: 8, Subject: []byte("a"), Target: wire.Target{Mode: wire.ModeBroadcast, Where: []byte("a in (")}}).Append(nil), wire.CodeInvalidTarget},
		{"leave unjoined", (&wire.Membership{Op: wire.OpLeave, Ref: 9, Group: "g"}).Append(nil), wire.CodeNotMember},
		{"bad label", (&wire.Meta{Ref: 10, Labels: []wire.Label{{Key: "a b", Value: "c"}}}).Append(nil), wire.CodeInvalidMeta},
		{"bad query selector", (&wire.Query{Ref: 11, Kind: wire.QueryEndpoints, Where: []byte("!")}).Append(nil), wire.CodeInvalidTarget},
		{"headers too large", (&wire.Pub{Ref: 12, Subject: []byte("a"),
			Headers: wire.AppendHeaders(nil, []wire.HeaderField{{Key: "big", Value: strings.Repeat("x", 64<<10)}})}).Append(nil), wire.CodeHeadersTooLarge},
		{"duplicate sid", (&wire.Sub{Ref: 13, SID: 50, Pattern: []byte("b")}).Append(
			(&wire.Sub{SID: 50, Pattern: []byte("a")}).Append(nil)), wire.CodeDuplicateSID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.write(tt.frame)
			e := c.nextErr()
			if e.Code != tt.code || e.Ref != uint64(i+1) {
				t.Fatalf("ERR %v ref %d (%s), want %v ref %d", e.Code, e.Ref, e.Message, tt.code, i+1)
			}
			if e.Message == "" {
				t.Fatal("ERR without a message")
			}
		})
	}
	c.write(wire.AppendEmpty(nil, wire.OpPing))
	if f, ok := c.next().(wire.Empty); !ok || f.Op != wire.OpPong {
		t.Fatalf("PING after errors answered %#v", f)
	}
}

func TestHandshake(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	t.Run("deadline", func(t *testing.T) {
		c := dialRaw(t, addr)
		start := time.Now()
		if e := c.nextErr(); e.Code != wire.CodeHandshake {
			t.Fatalf("ERR %v, want handshake", e.Code)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("closed after %v", d)
		}
	})
	t.Run("not connect first", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.write(wire.AppendEmpty(nil, wire.OpPing))
		if e := c.nextErr(); e.Code != wire.CodeHandshake {
			t.Fatalf("ERR %v, want handshake", e.Code)
		}
	})
	t.Run("version", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.write((&wire.Connect{Version: 99}).Append(nil))
		if e := c.nextErr(); e.Code != wire.CodeVersion {
			t.Fatalf("ERR %v, want version", e.Code)
		}
	})
	t.Run("id in use", func(t *testing.T) {
		connectRaw(t, addr, "taken")
		c := dialRaw(t, addr)
		c.write((&wire.Connect{Version: wire.Version, ID: "taken"}).Append(nil))
		if e := c.nextErr(); e.Code != wire.CodeIDInUse {
			t.Fatalf("ERR %v, want id in use", e.Code)
		}
	})
	t.Run("invalid id", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.write((&wire.Connect{Version: wire.Version, ID: "a b"}).Append(nil))
		if e := c.nextErr(); e.Code != wire.CodeInvalidID {
			t.Fatalf("ERR %v, want invalid id", e.Code)
		}
	})
}

func TestSlowConsumerIsCutWithoutStallingOthers(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPending = 512 << 10
	_, b, addr := startGateway(t, cfg)
	slow := connectRaw(t, addr, "slow") // subscribes and never reads
	slow.sub(1, "feed")
	fast := connectRaw(t, addr, "fast")
	fast.sub(1, "feed")
	pub := connectRaw(t, addr, "pub")
	payload := make([]byte, 8192)
	const batch, batches = 16, 200 // 26 MB: past the slow reader's socket buffers and MaxPending
	got := make(chan int, batches)
	go func() {
		n := 0
		for {
			f := fast.next()
			if f == nil {
				return
			}
			if _, ok := f.(*wire.Msg); ok {
				if n++; n%batch == 0 {
					got <- n
				}
			}
		}
	}()
	var buf []byte
	deadline := time.After(30 * time.Second)
	for i := range batches {
		buf = buf[:0]
		for range batch {
			buf = (&wire.Pub{Subject: []byte("feed"), Payload: payload}).Append(buf)
		}
		pub.write(buf)
		// The fast subscriber keeps up: it has every message of this
		// batch before the next is sent, so it stays under MaxPending.
		select {
		case n := <-got:
			if n != (i+1)*batch {
				t.Fatalf("fast subscriber at %d after batch %d", n, i)
			}
		case <-deadline:
			t.Fatalf("fast subscriber stalled at batch %d; slow consumers %d", i, b.Stats().SlowConsumers)
		}
	}
	if sc := b.Stats().SlowConsumers; sc != 1 {
		t.Fatalf("slow consumers = %d, want 1", sc)
	}
	if ev := b.Events(); len(ev) == 0 || ev[0].Kind != broker.EventSlowConsumer || !strings.Contains(ev[0].Text, "endpoint slow cut") {
		t.Fatalf("events %+v, want the slow consumer named", ev)
	}
	if _, ok := b.Endpoint("slow"); ok {
		// The cut endpoint is unregistered once its read loop ends.
		waitFor(t, func() bool { _, ok := b.Endpoint("slow"); return !ok })
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConnectionLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConns = 1
	_, _, addr := startGateway(t, cfg)
	connectRaw(t, addr, "only")
	c := dialRaw(t, addr)
	if e := c.nextErr(); e.Code != wire.CodeTooManyConns {
		t.Fatalf("ERR %v, want too many connections", e.Code)
	}
}

func TestSubscriptionLimitKeepsConnection(t *testing.T) {
	_, _, addr := startGatewayWith(t, testConfig(), broker.Config{MaxSubsPerConn: 2})
	c := connectRaw(t, addr, "")
	c.sub(1, "a")
	c.sub(2, "b")
	c.write((&wire.Sub{Ref: 3, SID: 3, Pattern: []byte("c")}).Append(nil))
	e := c.nextErr()
	if e.Code != wire.CodeTooManySubs || e.Ref != 3 || !strings.Contains(e.Message, "2") {
		t.Fatalf("third SUB: ERR %v ref %d %q, want too many subscriptions naming the limit 2", e.Code, e.Ref, e.Message)
	}
	c.write(wire.AppendEmpty(nil, wire.OpPing))
	if f, ok := c.next().(wire.Empty); !ok || f.Op != wire.OpPong {
		t.Fatalf("connection not usable after the limit: %#v", f)
	}
}
