package ferry

import "github.com/ferrymq/ferry/internal/wire"

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
