package wire

import (
	"encoding/binary"
	"slices"
)

// growOnceMin is the payload size from which encoding a frame first grows
// the buffer for the whole frame: appending field by field would grow (and
// copy everything queued before) once for the payload anyway, and append's
// growth for a big payload rounds less generously.
const growOnceMin = 1 << 10

// bytesLen is the encoded size of b: its uvarint length and its bytes.
func bytesLen(b []byte) int { return binary.MaxVarintLen64 + len(b) }

// Target names who may receive a PUB. The zero Target (ModePublish) reaches
// topic subscriptions matching the subject.
//
//	mode byte | if mode != publish: to str | where str | policy byte | key str | hasNear byte [lat f64 | lon f64] | timeoutMillis uvarint
type Target struct {
	Mode    Mode
	To      []byte // endpoint ID (unicast) or group name (multicast, anycast)
	Where   []byte // label selector filtering the candidates
	Policy  uint8  // anycast policy
	Key     []byte // anycast hash key
	HasNear bool
	Lat     float64
	Lon     float64
	// TimeoutMillis bounds each anycast attempt of a request: past it the
	// next-ranked candidate gets the request. Zero fails over only when
	// the chosen receiver disconnects.
	TimeoutMillis uint64
}

func appendTarget(dst []byte, t *Target) []byte {
	dst = append(dst, byte(t.Mode))
	if t.Mode == ModePublish {
		return dst
	}
	dst = appendBytes(dst, t.To)
	dst = appendBytes(dst, t.Where)
	dst = append(dst, t.Policy)
	dst = appendBytes(dst, t.Key)
	dst = appendLocation(dst, t.HasNear, t.Lat, t.Lon)
	return appendUvarint(dst, t.TimeoutMillis)
}

func (d *decoder) target(t *Target) {
	*t = Target{Mode: Mode(d.byte1("target mode"))}
	if t.Mode > maxMode {
		d.fail("target mode")
		return
	}
	if t.Mode == ModePublish {
		return
	}
	t.To = d.bytes("target")
	t.Where = d.bytes("selector")
	t.Policy = d.byte1("policy")
	t.Key = d.bytes("key")
	t.HasNear, t.Lat, t.Lon = d.location()
	t.TimeoutMillis = d.uvarint("timeout")
}

// Pub publishes a message.
//
//	ref uvarint | subject str | reply str | target | headers bytes | payload bytes
//
// A non-zero Ref asks the server to answer with OK (carrying the number of
// receivers reached) or ERR carrying the same Ref.
type Pub struct {
	Ref     uint64
	Subject []byte
	Reply   []byte
	Target  Target
	Headers []byte // encoded header block, see AppendHeaders
	Payload []byte
}

// Append appends p as a frame.
func (p *Pub) Append(dst []byte) []byte {
	if len(p.Payload) >= growOnceMin {
		n := HeaderSize + 1 + 2*binary.MaxVarintLen64 + bytesLen(p.Subject) + bytesLen(p.Reply) + bytesLen(p.Target.To) +
			bytesLen(p.Target.Where) + bytesLen(p.Target.Key) + 32 + bytesLen(p.Headers) + bytesLen(p.Payload)
		dst = slices.Grow(dst, n)
	}
	dst, start := beginFrame(dst, OpPub)
	dst = appendUvarint(dst, p.Ref)
	dst = appendBytes(dst, p.Subject)
	dst = appendBytes(dst, p.Reply)
	dst = appendTarget(dst, &p.Target)
	dst = appendBytes(dst, p.Headers)
	dst = appendBytes(dst, p.Payload)
	return endFrame(dst, start)
}

// Decode decodes a PUB body; byte fields alias body.
func (p *Pub) Decode(body []byte) error {
	d := decoder{b: body}
	p.Ref = d.uvarint("ref")
	p.Subject = d.bytes("subject")
	p.Reply = d.bytes("reply")
	d.target(&p.Target)
	p.Headers = d.bytes("headers")
	p.Payload = d.bytes("payload")
	return d.done(OpPub)
}

// Msg delivers a message to a subscription.
//
//	sid uvarint | subject str | reply str | from str | mode byte | headers bytes | payload bytes
type Msg struct {
	SID     uint64
	Subject []byte
	Reply   []byte
	From    []byte // sender's endpoint ID
	Mode    Mode
	Headers []byte
	Payload []byte
}

// Append appends m as a frame.
func (m *Msg) Append(dst []byte) []byte {
	return AppendMsg(dst, m.SID, m.Subject, m.Reply, m.From, m.Mode, m.Headers, m.Payload)
}

// Decode decodes a MSG body; byte fields alias body.
func (m *Msg) Decode(body []byte) error {
	d := decoder{b: body}
	m.SID = d.uvarint("sid")
	m.Subject = d.bytes("subject")
	m.Reply = d.bytes("reply")
	m.From = d.bytes("from")
	m.Mode = Mode(d.byte1("mode"))
	if m.Mode > maxMode {
		d.fail("mode")
	}
	m.Headers = d.bytes("headers")
	m.Payload = d.bytes("payload")
	return d.done(OpMsg)
}

// AppendMsg appends a MSG frame built from parts, without a Msg value; it is
// the server's delivery path.
func AppendMsg(dst []byte, sid uint64, subject, reply, from []byte, mode Mode, headers, payload []byte) []byte {
	if len(payload) >= growOnceMin {
		// Grow dst once for the whole frame rather than letting the
		// payload's append grow it (and copy what is queued) again.
		n := HeaderSize + 1 + 2*binary.MaxVarintLen64 + bytesLen(subject) + bytesLen(reply) + bytesLen(from) + bytesLen(headers) + bytesLen(payload)
		dst = slices.Grow(dst, n)
	}
	dst, start := beginFrame(dst, OpMsg)
	dst = appendUvarint(dst, sid)
	dst = appendBytes(dst, subject)
	dst = appendBytes(dst, reply)
	dst = appendBytes(dst, from)
	dst = append(dst, byte(mode))
	dst = appendBytes(dst, headers)
	dst = appendBytes(dst, payload)
	return endFrame(dst, start)
}
