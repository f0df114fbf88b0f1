package native

import (
	"errors"
	"fmt"
	"net"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/wire"
)

// dispatch handles one client frame. A returned error is a protocol
// violation that ends the connection; request-level errors are answered
// with ERR and leave it usable.
func (c *conn) dispatch(op wire.Op, body []byte) error {
	switch op {
	case wire.OpPub:
		return c.handlePub(body)
	case wire.OpSub:
		return c.handleSub(body)
	case wire.OpUnsub:
		var u wire.Unsub
		if err := u.Decode(body); err != nil {
			return err
		}
		err := c.g.broker.Unsubscribe(c.ep, u.SID)
		if err == nil {
			c.removeQueue(u.SID)
		}
		c.answer(u.Ref, 0, err)
		return nil
	case wire.OpMeta:
		return c.handleMeta(body)
	case wire.OpJoin, wire.OpLeave:
		return c.handleMembership(op, body)
	case wire.OpQuery:
		return c.handleQuery(body)
	case wire.OpLog:
		return c.handleLog(body)
	case wire.OpStreamOpen, wire.OpStreamData, wire.OpStreamCredit, wire.OpStreamClose:
		return c.handleStream(op, body)
	case wire.OpPing:
		if len(body) != 0 {
			return fmt.Errorf("PING: %w: body of %d bytes", wire.ErrMalformed, len(body))
		}
		c.sendEmpty(wire.OpPong)
		return nil
	case wire.OpPong:
		return nil
	default:
		return fmt.Errorf("unexpected %v frame from a client", op)
	}
}

func (c *conn) handlePub(body []byte) error {
	p := &c.pub
	if err := p.Decode(body); err != nil {
		return err
	}
	if err := wire.ValidateHeaders(p.Headers); err != nil {
		c.sendErr(p.Ref, wire.CodeInvalidHeaders, fmt.Sprintf("invalid headers: %v", err))
		return nil
	}
	c.msg = broker.Message{
		Subject: p.Subject, Reply: p.Reply, From: c.id,
		Headers: p.Headers, Payload: p.Payload, Received: c.rd.now,
	}
	c.g.requests.reply(p.Subject, p.Headers)
	if len(p.Reply) > 0 {
		c.g.requests.start(p.Reply)
	}
	n, seq, err := c.g.broker.PublishSeq(c.ep, &c.msg, target(&p.Target))
	if len(p.Reply) > 0 && (err != nil || n == 0) {
		c.g.requests.forget(p.Reply)
	}
	if err != nil || seq == 0 {
		c.answer(p.Ref, n, err)
	} else if p.Ref != 0 {
		c.sendOk(p.Ref, n, seq)
	}
	return nil
}

func (c *conn) handleSub(body []byte) error {
	s := &c.sub
	if err := s.Decode(body); err != nil {
		return err
	}
	err := c.g.broker.Subscribe(c.ep, broker.SubSpec{
		SID: s.SID, Pattern: string(s.Pattern), Group: string(s.Group),
		Scope: broker.Scope(s.Scope), Policy: route.Policy(s.Policy),
		Backpressure: s.Backpressure, Limit: s.Limit,
	})
	// A stream-scope-only subscription gets no MSG: its policy applies per
	// stream (lossyStream), not here.
	if err == nil && s.Backpressure != wire.BackpressureDisconnect && broker.Scope(s.Scope) != broker.ScopeStream {
		c.addQueue(s.SID, s.Backpressure, s.Limit)
	}
	c.answer(s.Ref, 0, err)
	return nil
}

// answer sends ERR for err (whatever ref is) or OK when ref asks for one.
func (c *conn) answer(ref uint64, count int, err error) {
	if err != nil {
		c.sendErr(ref, codeFor(err), err.Error())
		return
	}
	if ref != 0 {
		c.sendOk(ref, count, 0)
	}
}

// codes maps broker errors to wire codes: the one table for this door.
var codes = []struct {
	err  error
	code wire.Code
}{
	{broker.ErrInvalidSubject, wire.CodeInvalidSubject},
	{broker.ErrPayloadTooLarge, wire.CodePayloadTooLarge},
	{broker.ErrHeadersTooLarge, wire.CodeHeadersTooLarge},
	{broker.ErrInvalidHeaders, wire.CodeInvalidHeaders},
	{broker.ErrTooManySubs, wire.CodeTooManySubs},
	{broker.ErrDuplicateSID, wire.CodeDuplicateSID},
	{broker.ErrUnknownSID, wire.CodeUnknownSID},
	{broker.ErrIDInUse, wire.CodeIDInUse},
	{broker.ErrInvalidID, wire.CodeInvalidID},
	{broker.ErrInvalidTarget, wire.CodeInvalidTarget},
	{broker.ErrNotSupported, wire.CodeNotSupported},
	{broker.ErrInvalidMeta, wire.CodeInvalidMeta},
	{broker.ErrNotMember, wire.CodeNotMember},
	{broker.ErrClosed, wire.CodeShutdown},
	{broker.ErrNotStored, wire.CodeLogReadOnly},
}

func codeFor(err error) wire.Code {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return wire.CodeProtocol
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
