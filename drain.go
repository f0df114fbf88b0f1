package ferry

import (
	"context"
	"errors"
)

// Flush waits until the server has processed everything sent so far: it
// sends a PING and waits for its PONG. It fails with ErrDisconnected while
// disconnected and with ErrTimeout (also matching ctx.Err()) when ctx ends.
func (c *Conn) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	if err := c.w.appendPing(done); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}

// Drain unsubscribes everything, lets handlers finish the messages already
// received, flushes, and closes. New subscriptions fail meanwhile;
// publishing (for example replies from handlers) still works until the
// close. When ctx ends first, Drain closes at once and returns ErrTimeout.
func (c *Conn) Drain(ctx context.Context) error {
	c.mu.Lock()
	if c.IsClosed() {
		c.mu.Unlock()
		return ErrClosed
	}
	c.draining = true
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
		c.w.appendUnsub(s.sid)
	}
	c.mu.Unlock()

	// After the PONG the server has processed every UNSUB: no MSG for these
	// subscriptions can follow.
	err := c.Flush(ctx)
	if errors.Is(err, ErrDisconnected) {
		err = nil
	}
	c.mu.Lock()
	for _, s := range subs {
		delete(c.subs, s.sid)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.drain()
	}
	for _, s := range subs {
		select {
		case <-s.done:
		case <-ctx.Done():
			c.Close()
			return ctxErr(ctx)
		}
	}
	c.Close()
	return err
}
