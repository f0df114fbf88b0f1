package native

import (
	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/stream"
	"github.com/ferrymq/ferry/internal/wire"
)

// Stream implements broker.Sink for stream events: it appends the matching
// frame to the outbound buffer, under the same pending limit as messages.
func (c *conn) Stream(f *broker.StreamFrame) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if f.Kind == broker.StreamDataKind && c.streamq != nil {
		if q := c.streamq[f.Stream]; q != nil {
			c.streamDataQueuedLocked(q, f)
			c.mu.Unlock()
			c.signal()
			return true // a lossy stream drops rather than cut the connection
		}
	}
	before, msgs := len(c.out), 0
	switch f.Kind {
	case broker.StreamOpenKind:
		if broker.LossyPolicy(f.Backpressure) {
			c.addStreamQueueLocked(f.Stream, f.Backpressure, f.Limit)
		}
		c.out = (&wire.StreamOpen{Stream: f.Stream, Flags: f.Flags, Subject: f.Subject, Headers: f.Headers,
			From: f.From, WindowMsgs: f.Credit.Msgs, WindowBytes: f.Credit.Bytes}).Append(c.out)
	case broker.StreamDataKind:
		c.out = wire.AppendStreamData(c.out, f.Stream, f.Seq, f.Headers, f.Payload)
		msgs = 1
	case broker.StreamCreditKind:
		c.out = (&wire.StreamCredit{Stream: f.Stream, Msgs: f.Credit.Msgs, Bytes: f.Credit.Bytes}).Append(c.out)
	case broker.StreamCloseKind:
		if c.streamq != nil { // the waiting data goes before the close
			c.removeStreamQueueLocked(f.Stream, true)
			before = len(c.out)
		}
		c.out = (&wire.StreamClose{Stream: f.Stream, Code: f.Code, Reason: f.Reason}).Append(c.out)
	}
	return c.commitLocked(before, msgs)
}

// handleStream dispatches the stream ops.
func (c *conn) handleStream(op wire.Op, body []byte) error {
	b := c.g.broker
	switch op {
	case wire.OpStreamOpen:
		var o wire.StreamOpen
		if err := o.Decode(body); err != nil {
			return err
		}
		if err := wire.ValidateHeaders(o.Headers); err != nil {
			c.sendErr(o.Ref, wire.CodeInvalidHeaders, "invalid headers: "+err.Error())
			return nil
		}
		n, err := b.OpenStream(c.ep, broker.StreamSpec{ID: o.Stream, Flags: o.Flags, Subject: o.Subject,
			Target: target(&o.Target), Headers: o.Headers, Window: stream.Credit{Msgs: o.WindowMsgs, Bytes: o.WindowBytes}})
		c.answer(o.Ref, n, err)
	case wire.OpStreamData:
		d := &c.sdata
		if err := d.Decode(body); err != nil {
			return err
		}
		if len(d.Payload) > c.g.cfg.MaxPayload {
			c.sendErr(0, wire.CodePayloadTooLarge, "stream payload too large")
			return nil
		}
		if err := b.StreamData(c.ep, d.Stream, d.Seq, d.Headers, d.Payload); err != nil {
			c.sendErr(0, codeFor(err), err.Error())
		}
	case wire.OpStreamCredit:
		var cr wire.StreamCredit
		if err := cr.Decode(body); err != nil {
			return err
		}
		b.StreamCredit(c.ep, cr.Stream, stream.Credit{Msgs: cr.Msgs, Bytes: cr.Bytes})
	case wire.OpStreamClose:
		var cl wire.StreamClose
		if err := cl.Decode(body); err != nil {
			return err
		}
		b.CloseStream(c.ep, cl.Stream, cl.Code, cl.Reason)
		c.removeStreamQueue(cl.Stream)
	}
	return nil
}
