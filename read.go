package ferry

import (
	"bytes"
	"fmt"

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
			c.resolveRef(ok.Ref, refResult{count: ok.Count})
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
	msg := &Msg{
		Subject: string(m.Subject),
		Reply:   string(m.Reply),
		From:    string(m.From),
		Mode:    Mode(m.Mode),
		Data:    bytes.Clone(m.Payload),
		Sub:     s,
		conn:    c,
	}
	if len(m.Headers) > 0 {
		hs, err := wire.ParseHeaders(m.Headers)
		if err != nil {
			c.reportErr(fmt.Errorf("%w: message on %q: %w", ErrProtocol, msg.Subject, err))
		}
		for _, h := range hs {
			msg.Header = append(msg.Header, HeaderField(h))
		}
		if s.backpressure != BackpressureDisconnect {
			msg.Header = s.serverDrops(msg.Header)
		}
	}
	s.enqueue(msg)
}
