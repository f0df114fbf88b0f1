package wire

// Stream flags carried by STREAM_OPEN.
const (
	StreamBidi    uint8 = 1 << iota // a channel: data flows both ways, to exactly one acceptor
	StreamCutSlow                   // cut a receiver that stalls the stream instead of pacing everyone to it
	streamFlags   = StreamBidi | StreamCutSlow
)

// StreamOpen opens a stream. From a client it asks the server to open the
// stream to Target on Subject; the server answers OK (count: receivers) or
// ERR with the same Ref, and later sends STREAM_OPEN to each acceptor with
// From set and its own stream ID. Window is the opener's receive window for
// a bidirectional stream (zero for one-way streams).
//
//	ref uvarint | stream uvarint | flags byte | subject str | target | headers bytes | from str | window_msgs uvarint | window_bytes uvarint
type StreamOpen struct {
	Ref         uint64
	Stream      uint64
	Flags       uint8
	Subject     []byte
	Target      Target
	Headers     []byte
	From        []byte
	WindowMsgs  uint64
	WindowBytes uint64
}

// Append appends s as a frame.
func (s *StreamOpen) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpStreamOpen)
	dst = appendUvarint(dst, s.Ref)
	dst = appendUvarint(dst, s.Stream)
	dst = append(dst, s.Flags)
	dst = appendBytes(dst, s.Subject)
	dst = appendTarget(dst, &s.Target)
	dst = appendBytes(dst, s.Headers)
	dst = appendBytes(dst, s.From)
	dst = appendUvarint(dst, s.WindowMsgs)
	dst = appendUvarint(dst, s.WindowBytes)
	return endFrame(dst, start)
}

// Decode decodes a STREAM_OPEN body; byte fields alias body.
func (s *StreamOpen) Decode(body []byte) error {
	d := decoder{b: body}
	s.Ref = d.uvarint("ref")
	s.Stream = d.uvarint("stream")
	s.Flags = d.byte1("flags")
	if s.Flags&^streamFlags != 0 {
		d.fail("stream flags")
	}
	s.Subject = d.bytes("subject")
	d.target(&s.Target)
	s.Headers = d.bytes("headers")
	s.From = d.bytes("from")
	s.WindowMsgs = d.uvarint("window messages")
	s.WindowBytes = d.uvarint("window bytes")
	return d.done(OpStreamOpen)
}

// StreamData carries one message of a stream, in order.
//
//	stream uvarint | seq uvarint | headers bytes | payload bytes
type StreamData struct {
	Stream  uint64
	Seq     uint64
	Headers []byte
	Payload []byte
}

// Append appends s as a frame.
func (s *StreamData) Append(dst []byte) []byte {
	return AppendStreamData(dst, s.Stream, s.Seq, s.Headers, s.Payload)
}

// AppendStreamData appends a STREAM_DATA frame built from parts.
func AppendStreamData(dst []byte, stream, seq uint64, headers, payload []byte) []byte {
	dst, start := beginFrame(dst, OpStreamData)
	dst = appendUvarint(dst, stream)
	dst = appendUvarint(dst, seq)
	dst = appendBytes(dst, headers)
	dst = appendBytes(dst, payload)
	return endFrame(dst, start)
}

// Decode decodes a STREAM_DATA body; byte fields alias body.
func (s *StreamData) Decode(body []byte) error {
	d := decoder{b: body}
	s.Stream = d.uvarint("stream")
	s.Seq = d.uvarint("seq")
	s.Headers = d.bytes("headers")
	s.Payload = d.bytes("payload")
	return d.done(OpStreamData)
}

// StreamCredit grants the other side room for Msgs more messages and Bytes
// more payload bytes on a stream.
//
//	stream uvarint | msgs uvarint | bytes uvarint
type StreamCredit struct {
	Stream uint64
	Msgs   uint64
	Bytes  uint64
}

// Append appends s as a frame.
func (s *StreamCredit) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpStreamCredit)
	dst = appendUvarint(dst, s.Stream)
	dst = appendUvarint(dst, s.Msgs)
	dst = appendUvarint(dst, s.Bytes)
	return endFrame(dst, start)
}

// Decode decodes a STREAM_CREDIT body.
func (s *StreamCredit) Decode(body []byte) error {
	d := decoder{b: body}
	s.Stream = d.uvarint("stream")
	s.Msgs = d.uvarint("msgs")
	s.Bytes = d.uvarint("bytes")
	return d.done(OpStreamCredit)
}

// Stream close codes. StreamEnd is a clean end (for a channel, a
// half-close: the side that sent it sends no more); the others abort.
const (
	StreamEnd          uint64 = 0
	StreamAborted      uint64 = 1 // the peer aborted, with a reason
	StreamPeerGone     uint64 = 2 // the peer's connection closed
	StreamSlow         uint64 = 3 // the receiver was cut for stalling the stream
	StreamNoReceivers  uint64 = 4 // every receiver left
	StreamWindowExceed uint64 = 5 // the sender overran the granted window
)

// StreamClose ends a stream or one side of a channel.
//
//	stream uvarint | code uvarint | reason str
type StreamClose struct {
	Stream uint64
	Code   uint64
	Reason string
}

// Append appends s as a frame.
func (s *StreamClose) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpStreamClose)
	dst = appendUvarint(dst, s.Stream)
	dst = appendUvarint(dst, s.Code)
	dst = appendString(dst, s.Reason)
	return endFrame(dst, start)
}

// Decode decodes a STREAM_CLOSE body.
func (s *StreamClose) Decode(body []byte) error {
	d := decoder{b: body}
	s.Stream = d.uvarint("stream")
	s.Code = d.uvarint("code")
	s.Reason = string(d.bytes("reason"))
	return d.done(OpStreamClose)
}
