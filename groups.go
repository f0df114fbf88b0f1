package ferry

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrymq/ferry/internal/wire"
)

// Join makes the endpoint a member of the named multicast group (a valid
// subject, e.g. "channel.7"), creating the group, and waits for the server
// to accept it. Sends to Multicast(group), and anycasts with
// Group(group), reach the endpoint's group-scope subscriptions
// (HandleGroup) from the next message on. Joining twice is a no-op.
//
// An invalid name is ErrInvalidTarget. Membership survives reconnects: the
// Conn re-joins its groups after the handshake. While disconnected Join is
// recorded, returns nil, and takes effect on reconnect. When ctx ends
// before the answer, the join may still take effect.
func (c *Conn) Join(ctx context.Context, group string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	c.mu.Lock()
	_, had := c.groups[group]
	sent, err := c.w.appendCtl(&wire.Membership{Op: wire.OpJoin, Ref: ref, Group: group}, false)
	if err == nil {
		c.groups[group] = struct{}{}
	}
	c.mu.Unlock()
	if err != nil || !sent {
		c.dropRef(ref)
		return err
	}
	_, err = c.awaitRef(ctx, ref, answer)
	switch {
	case err == nil, errors.Is(err, ErrDisconnected):
		return nil // a lost JOIN is re-sent on reconnect
	case isServerErr(err) && !had:
		c.mu.Lock()
		delete(c.groups, group)
		c.mu.Unlock()
	}
	return fmt.Errorf("ferry: join %q: %w", group, err)
}

// Leave ends the endpoint's membership of the named group and waits for
// the server to accept it; the next message to the group no longer reaches
// this endpoint. Leaving a group not joined is ErrNotMember. Membership
// also ends when the Conn closes.
func (c *Conn) Leave(ctx context.Context, group string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	c.mu.Lock()
	_, had := c.groups[group]
	delete(c.groups, group)
	sent, err := c.w.appendCtl(&wire.Membership{Op: wire.OpLeave, Ref: ref, Group: group}, false)
	c.mu.Unlock()
	switch {
	case err != nil:
		c.dropRef(ref)
		return err
	case !sent:
		c.dropRef(ref)
		if !had {
			return fmt.Errorf("ferry: leave %q: %w", group, ErrNotMember)
		}
		return nil // not re-joined on reconnect
	}
	_, err = c.awaitRef(ctx, ref, answer)
	if err == nil || errors.Is(err, ErrDisconnected) {
		return nil
	}
	return fmt.Errorf("ferry: leave %q: %w", group, err)
}

// checkGroup checks a group name: a valid subject without wildcards.
func checkGroup(group string) error {
	if err := checkSubject(group, false); err != nil {
		return fmt.Errorf("%w: group name: %w", ErrInvalidTarget, err)
	}
	return nil
}
