package ferry

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/ferrymq/ferry/internal/wire"
)

// readLoop reads and dispatches frames from s until the connection fails.
// It returns the cause: a read error, a protocol error, or the *ServerError
// of a fatal ERR (after which the server closes).
func (c *Conn) readLoop(s *session) error {
	var m wire.Msg
	for {
		op, body, err := s.r.Next()
		if err != nil {
			return err
		}
		if !c.active.Load() {
			c.active.Store(true)
		}
		switch op {
		case wire.OpMsg:
			if err := m.Decode(body); err != nil {
				return fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			c.dispatch(&m)
		case wire.OpOk:
			var ok wire.Ok
			if err := ok.Decode(body); err != nil {
				return fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			c.resolveRef(ok.Ref, refResult{count: ok.Count, seq: ok.Seq})
		case wire.OpResult:
			var res wire.Result
			if err := res.Decode(body); err != nil {
				return fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			c.resolveRef(res.Ref, refResult{body: bytes.Clone(res.Body)})
		case wire.OpErr:
			if err := c.serverErr(body); err != nil {
				return err
			}
		case wire.OpPing:
			c.w.appendPong()
		case wire.OpPong:
			c.pingsOut.Store(0)
			c.w.gotPong()
		case wire.OpStreamOpen, wire.OpStreamData, wire.OpStreamCredit, wire.OpStreamClose:
			if err := c.streamFrame(op, body); err != nil {
				return fmt.Errorf("%w: %w", ErrProtocol, err)
			}
		case wire.OpInfo:
			var info wire.Info
			if err := info.Decode(body); err == nil {
				c.w.mu.Lock()
				c.w.setLimits(&info)
				c.w.mu.Unlock()
			}
		default:
			return fmt.Errorf("%w: unexpected %v from server", ErrProtocol, op)
		}
	}
}

// serverErr handles an ERR frame: one answering a Ref goes to its waiter,
// others to the error handler. A fatal one is returned: the server closes.
func (c *Conn) serverErr(body []byte) error {
	var e wire.Err
	if err := e.Decode(body); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	se := &ServerError{Code: uint16(e.Code), Message: e.Message}
	switch {
	case e.Ref != 0:
		c.resolveRef(e.Ref, refResult{err: se})
	case e.Code.Fatal():
		return se
	default:
		c.reportErr(se)
	}
	return nil
}

// dispatch copies a MSG out of the read buffer and queues it on its
// subscription. Messages for a subscription already gone are dropped.
func (c *Conn) dispatch(m *wire.Msg) {
	c.mu.RLock()
	s := c.subs[m.SID]
	c.mu.RUnlock()
	if s == nil || s.acc != nil {
		return
	}
	msg := &Msg{Mode: Mode(m.Mode), Data: bytes.Clone(m.Payload), Sub: s, conn: c}
	msg.Subject, msg.Reply, msg.From = strings3(m.Subject, m.Reply, m.From)
	if len(m.Headers) > 0 {
		hs, err := wire.ParseHeaders(m.Headers)
		if err != nil {
			c.reportErr(fmt.Errorf("%w: message on %q: %w", ErrProtocol, msg.Subject, err))
		}
		if len(hs) > 0 {
			msg.Header = make(Header, len(hs))
			for i, h := range hs {
				msg.Header[i] = HeaderField(h)
			}
		}
		if s.backpressure != BackpressureDisconnect {
			msg.Header = s.serverDrops(msg.Header)
		}
	}
	if s.direct && msg.Reply == "" {
		s.handler(msg)
		return
	}
	s.enqueue(msg)
}

// strings3 converts a, b and c to strings with one allocation: the three
// share one immutable backing array.
func strings3(a, b, c []byte) (string, string, string) {
	n := len(a) + len(b) + len(c)
	if n == 0 {
		return "", "", ""
	}
	buf := make([]byte, 0, n)
	buf = append(append(append(buf, a...), b...), c...)
	str := func(i, j int) string {
		if i == j {
			return ""
		}
		return unsafe.String(&buf[i], j-i)
	}
	na, nb := len(a), len(a)+len(b)
	return str(0, na), str(na, nb), str(nb, n)
}
