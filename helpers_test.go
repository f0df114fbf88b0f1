package ferry

import (
	"testing"

	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/internal/wire"
)

// dialServer connects to a real test server and closes the connection when
// the test or benchmark ends.
func dialServer(tb testing.TB, srv *ferrytest.Server, opts ...Option) *Conn {
	tb.Helper()
	nc, err := Connect(srv.URL(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	return nc
}

// testPub builds PUB frames for tests from strings.
type testPub struct {
	Ref              uint64
	Subject, Payload string
}

func (p *testPub) frame() []byte {
	return (&wire.Pub{Ref: p.Ref, Subject: []byte(p.Subject), Payload: []byte(p.Payload)}).Append(nil)
}

func subFrameFor(sid uint64) []byte {
	return (&wire.Sub{SID: sid, Pattern: []byte("x")}).Append(nil)
}

func pingFrame() []byte { return wire.AppendEmpty(nil, wire.OpPing) }
