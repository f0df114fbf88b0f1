package ferry_test

import (
	"net"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/internal/wire"
	"github.com/ferrymq/ferry/server"
)

// rawConn is a hand-driven protocol connection, for clients that misbehave.
func rawConn(t *testing.T, s *ferrytest.Server, id string) (net.Conn, *wire.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.Write((&wire.Connect{Version: wire.Version, ID: id}).Append(nil))
	r := wire.NewReader(nc, 4<<20)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if op, _, err := r.Next(); err != nil || op != wire.OpInfo {
		t.Fatalf("handshake: %v %v", op, err)
	}
	return nc, r
}

// TestE2ESlowConsumerIsCut has a subscriber that never reads its socket: the
// server cuts it, counts it, and a fast subscriber on the same subject gets
// every message without the publisher stalling.
func TestE2ESlowConsumerIsCut(t *testing.T) {
	s := ferrytest.New(t, server.Options{MaxPending: 1 << 20})
	slow, slowR := rawConn(t, s, "slow")
	slow.Write((&wire.Sub{Ref: 1, SID: 1, Pattern: []byte("feed")}).Append(nil))
	if op, _, err := slowR.Next(); err != nil || op != wire.OpOk {
		t.Fatalf("slow SUB: %v %v", op, err)
	}
	fast := dial(t, s)
	got := make(chan struct{}, 1<<14)
	if _, err := fast.Subscribe("feed", func(*ferry.Msg) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := fast.Flush(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	pub := dial(t, s)
	payload := make([]byte, 8<<10)
	const batch, batches = 32, 120 // 31 MB in all: far past the slow socket's buffers
	for i := range batches {
		for range batch {
			if err := pub.Publish("feed", payload); err != nil {
				t.Fatal(err)
			}
		}
		// The fast subscriber has the batch before the next one is sent.
		for j := range batch {
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatalf("fast subscriber stalled at batch %d message %d", i, j)
			}
		}
	}
	eventually(t, "slow consumer counted", func() bool { return s.Server().Stats().SlowConsumers == 1 })
	eventually(t, "slow endpoint removed", func() bool { return s.Server().Stats().Endpoints == 2 })
}

// TestE2EMalformedFrames sends garbage on raw connections: each gets ERR and
// is closed, while a normal client keeps publishing and receiving.
func TestE2EMalformedFrames(t *testing.T) {
	s := ferrytest.New(t)
	good := dial(t, s)
	var in inbox
	if _, err := good.Subscribe("ok.>", in.add); err != nil {
		t.Fatal(err)
	}
	frames := map[string][]byte{
		"unknown op":      {0, 0, 0, 1, 200},
		"truncated body":  {0, 0, 0, 3, byte(wire.OpPub), 0, 50},
		"msg from client": (&wire.Msg{SID: 1, Subject: []byte("x")}).Append(nil),
		"huge length":     {0x7f, 0xff, 0xff, 0xff},
	}
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			nc, r := rawConn(t, s, "")
			nc.Write(frame)
			op, body, err := r.Next()
			if err != nil || op != wire.OpErr {
				t.Fatalf("answer %v, %v; want ERR", op, err)
			}
			var e wire.Err
			if e.Decode(body) != nil || !e.Code.Fatal() || e.Message == "" {
				t.Fatalf("ERR %+v", e)
			}
			if _, _, err := r.Next(); err == nil {
				t.Fatal("connection still open after a fatal ERR")
			}
			if err := good.Publish("ok."+string(rune('a'+len(name)%26)), []byte(name)); err != nil {
				t.Fatal(err)
			}
		})
	}
	eventually(t, "good client still served", func() bool { return in.len() == len(frames) })
}
