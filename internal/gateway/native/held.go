package native

import (
	"encoding/binary"
	"strconv"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

// heldMsg is a private copy of a message waiting in a subscription's
// queue: subject, reply, from, headers and payload back to back in one
// allocation.
type heldMsg struct {
	buf  []byte
	ends [4]int // ends of subject, reply, from and headers in buf
	mode wire.Mode
}

func newHeldMsg(m *broker.Message) heldMsg {
	h := heldMsg{mode: m.Mode}
	h.buf = make([]byte, 0, len(m.Subject)+len(m.Reply)+len(m.From)+len(m.Headers)+len(m.Payload))
	for i, part := range [...][]byte{m.Subject, m.Reply, m.From, m.Headers} {
		h.buf = append(h.buf, part...)
		h.ends[i] = len(h.buf)
	}
	h.buf = append(h.buf, m.Payload...)
	return h
}

// size is what the message counts for in the connection's pending bytes
// while it waits.
func (h *heldMsg) size() int { return len(h.buf) }

// message returns a view of h; its slices alias h.
func (h *heldMsg) message() broker.Message {
	e := h.ends
	return broker.Message{
		Subject: h.buf[:e[0]], Reply: h.buf[e[0]:e[1]], From: h.buf[e[1]:e[2]],
		Mode: h.mode, Headers: h.buf[e[2]:e[3]], Payload: h.buf[e[3]:],
	}
}

// messageKey is a message's key for the latest-per-key policy: its first
// Ferry-Key header, else its subject.
func messageKey(headers, subject []byte) string {
	if len(headers) > 0 {
		hs, err := wire.ParseHeaders(headers)
		if err == nil {
			for _, h := range hs {
				if h.Key == wire.KeyHeader {
					return h.Value
				}
			}
		}
	}
	return string(subject)
}

// appendDropped appends to dst the header block headers with a
// Ferry-Dropped: n field added at the end. headers has been validated; if
// it still does not decode it is appended unchanged.
func appendDropped(dst, headers []byte, n uint64) []byte {
	var count uint64
	rest := headers
	if len(headers) > 0 {
		c, k := binary.Uvarint(headers)
		if k <= 0 {
			return append(dst, headers...)
		}
		count, rest = c, headers[k:]
	}
	dst = binary.AppendUvarint(dst, count+1)
	dst = append(dst, rest...)
	dst = binary.AppendUvarint(dst, uint64(len(wire.DroppedHeader)))
	dst = append(dst, wire.DroppedHeader...)
	var num [20]byte
	v := strconv.AppendUint(num[:0], n, 10)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}
