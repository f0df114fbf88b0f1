package ferry

import (
	"context"
	"fmt"
)

// Publish sends data to the subscribers of subject. It does not wait for the
// server; use Flush to wait until the server has processed it. It queues the
// message for the connection's writer and returns; only when the network
// falls behind by more than the reconnect buffer size (at least 1 MiB) does
// it wait. While disconnected, publishes are buffered (see
// WithReconnectBuffer) and sent after reconnecting.
func (c *Conn) Publish(subject string, data []byte) error {
	return c.publish(0, subject, "", Target{}, nil, data)
}

// PublishMsg sends m to m.Target (zero: the subscribers of m.Subject), with
// m's reply address and headers. It does not wait for the server.
func (c *Conn) PublishMsg(m *Msg) error {
	if m == nil {
		return fmt.Errorf("ferry: publish: nil message")
	}
	return c.publish(0, m.Subject, m.Reply, m.Target, m.Header, m.Data)
}

// publish checks and queues one PUB. A non-zero ref asks the server for OK
// or ERR; such a PUB needs a live connection.
func (c *Conn) publish(ref uint64, subject, reply string, t Target, h Header, data []byte) error {
	if err := checkSubject(subject, false); err != nil {
		return fmt.Errorf("ferry: publish: %w", err)
	}
	wt, err := wireTarget(&t)
	if err != nil {
		return err
	}
	return c.w.appendPub(ref, subject, reply, &wt, h, data)
}

// Send delivers data on subject to exactly the endpoint id (unicast) and
// waits until the server has routed it. It returns ErrNoResponders when the
// endpoint is not connected or has no inbox subscription matching subject.
func (c *Conn) Send(ctx context.Context, id, subject string, data []byte) error {
	_, err := c.SendMsg(ctx, &Msg{Subject: subject, Data: data, Target: ToEndpoint(id)})
	return err
}

// SendMsg sends m to m.Target and waits until the server has routed it,
// returning the number of receivers reached. Reaching nobody is
// ErrNoResponders; a refusal is a *ServerError; a lost connection
// ErrDisconnected (also at once while disconnected); the end of ctx
// ErrTimeout (also matching ctx.Err()).
func (c *Conn) SendMsg(ctx context.Context, m *Msg) (int, error) {
	if m == nil {
		return 0, fmt.Errorf("ferry: send: nil message")
	}
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	if err := c.publish(ref, m.Subject, m.Reply, m.Target, m.Header, m.Data); err != nil {
		c.dropRef(ref)
		return 0, err
	}
	res, err := c.awaitRef(ctx, ref, answer)
	if err != nil {
		return 0, fmt.Errorf("ferry: send %q to %v: %w", m.Subject, m.Target, err)
	}
	if res.count == 0 {
		return 0, fmt.Errorf("ferry: send %q to %v: %w", m.Subject, m.Target, ErrNoResponders)
	}
	return int(min(res.count, 1<<31-1)), nil
}
