package ferry

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// run is the connection's reading goroutine: it reads from the current
// session and, when that fails, reconnects, until the Conn is closed.
func (c *Conn) run(s *session) {
	for {
		err := c.readLoop(s)
		s.nc.Close()
		if c.stale.Swap(false) {
			err = errStale
		}
		if !c.lost(err) {
			return
		}
		if s = c.reconnect(); s == nil {
			return
		}
	}
}

// lost moves the Conn to the disconnected state after the connection failed
// with cause: plain publishes stay buffered, everything awaiting an answer
// fails with ErrDisconnected. It reports whether to reconnect; without
// reconnecting the Conn is closed.
func (c *Conn) lost(cause error) bool {
	err := fmt.Errorf("%w: %w", ErrDisconnected, cause)
	c.w.mu.Lock()
	if c.w.state == stateDone {
		c.w.mu.Unlock()
		return false
	}
	c.w.state, c.w.nc = stateDown, nil
	c.w.wakeWaiters()
	c.w.buf = keepPublishes(c.w.buf, c.w.limit)
	c.w.failPongs(err)
	c.w.mu.Unlock()
	c.failRefs(err)
	c.failStreams(err)
	c.pingsOut.Store(0)
	c.log.Warn("ferry: connection lost", "id", c.id, "err", cause)
	if !c.opts.reconnect {
		c.setState(StateDisconnected)
		c.shutdown(err)
		return false
	}
	c.reportErr(err)
	c.setState(StateDisconnected)
	return true
}

// reconnect redials with exponential backoff and jitter, asking for the
// same endpoint ID, until it succeeds, the Conn is closed, or the attempts
// run out (then it closes the Conn). It returns the new session or nil.
func (c *Conn) reconnect() *session {
	wait := c.opts.reconnectMin
	var err error
	for attempt := 1; c.opts.maxReconnects < 0 || attempt <= c.opts.maxReconnects; attempt++ {
		if !c.sleep(jitter(wait, c.opts.reconnectMax)) {
			return nil
		}
		wait = min(2*wait, c.opts.reconnectMax)
		var s *session
		o, gen := c.dialOptions()
		s, err = dial(c.ctx, c.addr, &o, c.id)
		if err == nil {
			if !c.resume(s, gen) {
				s.nc.Close()
				return nil
			}
			c.log.Info("ferry: reconnected", "id", c.id, "attempt", attempt)
			c.setState(StateReconnected)
			return s
		}
		if c.ctx.Err() != nil {
			return nil
		}
		c.log.Debug("ferry: reconnect failed", "id", c.id, "attempt", attempt, "err", err)
		if permanent(err) {
			break
		}
	}
	if err == nil {
		err = errors.New("no attempts allowed")
	}
	c.shutdown(fmt.Errorf("%w: gave up reconnecting to %s: %w", ErrDisconnected, c.url, err))
	return nil
}

// permanent reports whether a reconnect failure will not heal by retrying.
// An ID still in use (the old connection not yet reaped) does heal.
func permanent(err error) bool {
	var se *ServerError
	if !errors.As(err, &se) {
		return false
	}
	switch wire.Code(se.Code) {
	case wire.CodeVersion, wire.CodeInvalidID:
		return true
	}
	return false
}

// jitter returns d plus up to a quarter of d at random, capped at max.
func jitter(d, max time.Duration) time.Duration {
	return min(d+rand.N(d/4+1), max)
}

// sleep waits d; it reports false when the Conn closed meanwhile.
func (c *Conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// resume installs a new session: it queues META when the endpoint metadata
// changed since the CONNECT was built (gen), SUB for every live
// subscription (same SIDs; stream listeners too) and JOIN for every joined
// group, ahead of the publishes buffered while disconnected, and lets the
// flusher write. Streams and channels are not resumed: lost failed them.
// It reports false when the Conn was closed meanwhile.
func (c *Conn) resume(s *session, gen uint64) bool {
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.w.state == stateDone {
		return false
	}
	sids := make([]uint64, 0, len(c.subs))
	for sid := range c.subs {
		sids = append(sids, sid)
	}
	slices.Sort(sids)
	buf := make([]byte, 0, len(c.w.buf)+64*len(sids))
	if c.metaGen != gen {
		buf = c.meta.frame(0).Append(buf)
	}
	for _, sid := range sids {
		sub := c.subs[sid]
		sub.newConnection()
		buf = sub.subFrame(0).Append(buf)
	}
	for _, g := range slices.Sorted(maps.Keys(c.groups)) {
		buf = (&wire.Membership{Op: wire.OpJoin, Group: g}).Append(buf)
	}
	c.w.buf = append(buf, c.w.buf...)
	c.w.state, c.w.nc = stateUp, s.nc
	c.w.setLimits(&s.info)
	c.active.Store(true)
	c.w.wake()
	return true
}
