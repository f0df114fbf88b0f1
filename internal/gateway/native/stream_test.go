package native

import (
	"testing"

	"github.com/ferrymq/ferry/internal/wire"
)

func TestStreamOverTCP(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	dash := connectRaw(t, addr, "dash")
	dash.write((&wire.Sub{Ref: 1, SID: 1, Scope: wire.ScopeStream, Pattern: []byte("gps.>")}).Append(nil))
	dash.ok(1)
	phone := connectRaw(t, addr, "phone")
	phone.write((&wire.StreamOpen{Ref: 2, Stream: 1, Subject: []byte("gps.p1")}).Append(nil))
	if n := phone.ok(2).Count; n != 1 {
		t.Fatalf("stream reached %d", n)
	}
	open, _ := dash.next().(*wire.StreamOpen)
	if open == nil || string(open.From) != "phone" || string(open.Subject) != "gps.p1" {
		t.Fatalf("acceptor got %#v", open)
	}
	dash.write((&wire.StreamCredit{Stream: open.Stream, Msgs: 2, Bytes: 1024}).Append(nil))
	if cr, _ := phone.next().(*wire.StreamCredit); cr == nil || cr.Stream != 1 || cr.Msgs != 2 {
		t.Fatalf("sender got %#v", cr)
	}
	var buf []byte
	for seq := uint64(1); seq <= 2; seq++ {
		buf = (&wire.StreamData{Stream: 1, Seq: seq, Payload: []byte("52.52,13.40")}).Append(buf)
	}
	buf = (&wire.StreamClose{Stream: 1}).Append(buf)
	phone.write(buf)
	for seq := uint64(1); seq <= 2; seq++ {
		if d, _ := dash.next().(*wire.StreamData); d == nil || d.Seq != seq || d.Stream != open.Stream {
			t.Fatalf("seq %d: got %#v", seq, d)
		}
	}
	if cl, _ := dash.next().(*wire.StreamClose); cl == nil || cl.Code != wire.StreamEnd {
		t.Fatalf("close %#v", cl)
	}
	// Overrunning a window aborts the stream with an error, not the connection.
	phone.write((&wire.StreamOpen{Ref: 3, Stream: 3, Subject: []byte("gps.p1")}).Append(nil))
	phone.ok(3)
	dash.next() // the new open
	phone.write((&wire.StreamData{Stream: 3, Seq: 1, Payload: []byte("x")}).Append(nil))
	for {
		f := phone.next()
		if e, ok := f.(*wire.Err); ok {
			if e.Code != wire.CodeInvalidTarget {
				t.Fatalf("ERR %v %s", e.Code, e.Message)
			}
			break
		}
		if f == nil {
			t.Fatal("connection closed on a window overrun")
		}
	}
}
