package wire

import "encoding/binary"

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

// Backpressure policies carried by SUB: what the server does when a
// subscription's messages pile up because its connection does not read
// fast enough (see docs/protocol.md, "Backpressure per subscription").
const (
	BackpressureDisconnect   = 0 // cut the connection as a slow consumer (the default)
	BackpressureBlock        = 1 // make the publisher wait for room, up to the write timeout
	BackpressureDropNewest   = 2 // drop the incoming message
	BackpressureDropOldest   = 3 // drop the oldest message still waiting
	BackpressureLatestPerKey = 4 // keep the latest waiting message per key, then drop the oldest
	maxBackpressure          = BackpressureLatestPerKey
)

// DefaultBackpressureLimit is the limit a SUB with Limit 0 gets: the
// number of messages the server keeps for the subscription.
const DefaultBackpressureLimit = 1024

// Headers the server reads or adds for backpressure policies.
const (
	// KeyHeader names a message's key for BackpressureLatestPerKey; a
	// message without it is keyed by its subject.
	KeyHeader = "Ferry-Key"
	// DroppedHeader is added to the first MSG on a subscription after the
	// server dropped messages for it; its value is the subscription's
	// cumulative drop count in decimal.
	DroppedHeader = "Ferry-Dropped"
	// MsgIDHeader carries a message's ID: a durable log with a dedupe
	// window stores a message once per ID (docs/logs.md).
	MsgIDHeader = "Ferry-Msg-Id"
)

// Sub subscribes to a subject pattern.
//
//	ref uvarint | sid uvarint | scope byte | pattern str | group str | policy byte | backpressure byte | limit uvarint
//
// SID is chosen by the client and names the subscription in MSG and UNSUB.
// A non-empty Group makes the subscription share messages with the other
// members of that group on the same pattern (anycast: one member each,
// chosen by Policy; the first member's policy is the group's).
// Backpressure (one of the Backpressure constants) says what the server
// does when the subscription falls Limit messages behind; Limit 0 means
// DefaultBackpressureLimit. Limit is ignored for BackpressureDisconnect.
type Sub struct {
	Ref          uint64
	SID          uint64
	Scope        Scope
	Pattern      []byte
	Group        []byte
	Policy       uint8
	Backpressure uint8
	Limit        uint64
}

// Append appends s as a frame.
func (s *Sub) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpSub)
	dst = appendUvarint(dst, s.Ref)
	dst = appendUvarint(dst, s.SID)
	dst = append(dst, byte(s.Scope))
	dst = appendBytes(dst, s.Pattern)
	dst = appendBytes(dst, s.Group)
	dst = append(dst, s.Policy)
	dst = append(dst, s.Backpressure)
	dst = appendUvarint(dst, s.Limit)
	return endFrame(dst, start)
}

// Decode decodes a SUB body; byte fields alias body.
func (s *Sub) Decode(body []byte) error {
	d := decoder{b: body}
	s.Ref = d.uvarint("ref")
	s.SID = d.uvarint("sid")
	s.Scope = Scope(d.byte1("scope"))
	if s.Scope&^scopeAll != 0 {
		d.fail("scope")
	}
	s.Pattern = d.bytes("pattern")
	s.Group = d.bytes("group")
	s.Policy = d.byte1("policy")
	s.Backpressure = d.byte1("backpressure")
	if s.Backpressure > maxBackpressure {
		d.fail("backpressure")
	}
	s.Limit = d.uvarint("limit")
	return d.done(OpSub)
}

// Unsub ends a subscription.
//
//	ref uvarint | sid uvarint
type Unsub struct {
	Ref uint64
	SID uint64
}

// Append appends u as a frame.
func (u *Unsub) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpUnsub)
	dst = appendUvarint(dst, u.Ref)
	dst = appendUvarint(dst, u.SID)
	return endFrame(dst, start)
}

// Decode decodes an UNSUB body.
func (u *Unsub) Decode(body []byte) error {
	d := decoder{b: body}
	u.Ref = d.uvarint("ref")
	u.SID = d.uvarint("sid")
	return d.done(OpUnsub)
}

// Ok acknowledges the client frame that carried Ref. For a PUB, Count is the
// number of receivers the message reached and Seq the sequence the message
// got in a durable log capturing its subject (0: not stored in a log; when
// several logs capture it, the first log's).
//
//	ref uvarint | count uvarint | seq uvarint
type Ok struct {
	Ref   uint64
	Count uint64
	Seq   uint64
}

// Append appends o as a frame.
func (o *Ok) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpOk)
	dst = appendUvarint(dst, o.Ref)
	dst = appendUvarint(dst, o.Count)
	dst = appendUvarint(dst, o.Seq)
	return endFrame(dst, start)
}

// Decode decodes an OK body.
func (o *Ok) Decode(body []byte) error {
	d := decoder{b: body}
	o.Ref = d.uvarint("ref")
	o.Count = d.uvarint("count")
	o.Seq = d.uvarint("seq")
	return d.done(OpOk)
}

// Err reports an error. Ref names the client frame it answers, or is zero
// for an error not tied to one (a framing error, a slow-consumer cut).
//
//	ref uvarint | code uvarint | message str
type Err struct {
	Ref     uint64
	Code    Code
	Message string
}

// Append appends e as a frame.
func (e *Err) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpErr)
	dst = appendUvarint(dst, e.Ref)
	dst = appendUvarint(dst, uint64(e.Code))
	dst = appendString(dst, e.Message)
	return endFrame(dst, start)
}

// Decode decodes an ERR body.
func (e *Err) Decode(body []byte) error {
	d := decoder{b: body}
	e.Ref = d.uvarint("ref")
	code := d.uvarint("code")
	if code > 0xffff {
		d.fail("code")
	}
	e.Code = Code(code)
	e.Message = string(d.bytes("message"))
	return d.done(OpErr)
}

// AppendEmpty appends a frame with no body (PING, PONG).
func AppendEmpty(dst []byte, op Op) []byte {
	dst, start := beginFrame(dst, op)
	return endFrame(dst, start)
}
