package native

import (
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/stream"
	"github.com/ferrymq/ferry/internal/wire"
)

// Backpressure per subscription (docs/protocol.md). A subscription whose
// SUB chose a policy other than disconnect gets a subQueue. Its messages
// go straight into the outbound buffer while it has fewer than limit
// messages handed to the writer and nothing waits; past that they wait in
// the queue (drop policies) or the publisher waits (Block). After each
// completed write the flusher hands waiting messages on while there is
// room. Every field here is guarded by conn.mu.

// subQueue is one subscription's backpressure state.
type subQueue = stream.Queue[heldMsg]

// maxBackpressureLimit caps a SUB's limit; larger limits are clamped.
const maxBackpressureLimit = 1 << 20

// addQueue gives the new subscription sid the backpressure policy bp (not
// disconnect). It runs once the broker has accepted the SUB, so a refused
// SUB (a live SID reused) never disturbs the live subscription; messages
// that reach sid before addQueue returns take the default path, uncounted
// by the queue.
func (c *conn) addQueue(sid uint64, bp uint8, limit uint64) {
	switch {
	case limit == 0:
		limit = wire.DefaultBackpressureLimit
	case limit > maxBackpressureLimit:
		limit = maxBackpressureLimit
	}
	p := stream.Policy(bp)
	if !p.Valid() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.subq[sid] != nil {
		return
	}
	if c.subq == nil {
		c.subq = make(map[uint64]*subQueue)
	}
	c.subq[sid] = stream.NewQueue[heldMsg](p, int(limit))
}

// removeQueue forgets sid's queue and the messages waiting in it after an
// UNSUB, and wakes publishers waiting on it.
func (c *conn) removeQueue(sid uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.subq[sid]
	if q == nil {
		return
	}
	c.pending -= q.Bytes()
	c.heldMsgs -= q.Len()
	delete(c.subq, sid)
	if len(c.subq) == 0 {
		c.subq = nil
	}
	c.wakeLocked()
}

// deliverQueued is Deliver for a subscription with a policy. c.mu is held
// on entry and released on return. It reports false when the message was
// not taken: dropped on arrival, or the connection is closing or was cut.
func (c *conn) deliverQueued(sid uint64, q *subQueue, m *broker.Message) bool {
	if q.Direct() {
		return c.appendDirectLocked(sid, q, m)
	}
	if q.Policy() == stream.Block {
		return c.deliverBlocked(sid, q, m)
	}
	key := ""
	if q.Policy() == stream.LatestPerKey {
		key = messageKey(m.Headers, m.Subject)
	}
	h := newHeldMsg(m)
	bytes, n, dropped := q.Bytes(), q.Len(), q.Dropped()
	out := q.Push(h, key, h.size())
	c.pending += q.Bytes() - bytes
	c.notePeak()
	c.heldMsgs += q.Len() - n
	over := c.pending > c.g.cfg.MaxPending
	d := q.Dropped() - dropped
	c.mu.Unlock()
	if d > 0 {
		c.g.dropped[dropReason(q.Policy())].Add(d)
	}
	if over {
		c.slowConsumer("outbound buffer passed max_pending")
		return false
	}
	return out != stream.Dropped
}

// deliverBlocked waits, with no lock held, until the Block subscription sid
// has room, then appends m. The wait ends early when the connection closes
// or the subscription goes; past WriteTimeout the subscriber is cut as a
// slow consumer. m stays valid: the publisher is waiting inside Publish.
// c.mu is held on entry and released on return.
func (c *conn) deliverBlocked(sid uint64, q *subQueue, m *broker.Message) bool {
	timer := time.NewTimer(c.g.cfg.WriteTimeout)
	defer timer.Stop()
	for {
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-timer.C:
			c.slowConsumer("a publisher waited past the write timeout")
			return false
		}
		c.mu.Lock()
		if c.closed || c.subq[sid] != q {
			c.mu.Unlock()
			return false
		}
		if q.Direct() {
			return c.appendDirectLocked(sid, q, m)
		}
	}
}

// wakeLocked wakes every publisher waiting for room.
func (c *conn) wakeLocked() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

// appendDirectLocked appends m, which Direct admitted, to the outbound
// buffer under the connection's MaxPending rule. c.mu is held on entry and
// released on return.
func (c *conn) appendDirectLocked(sid uint64, q *subQueue, m *broker.Message) bool {
	before := len(c.out)
	c.appendMsgLocked(sid, q, m)
	return c.commitLocked(before, 1)
}

// appendMsgLocked appends a MSG frame for sid, adding the Ferry-Dropped
// header when the subscription has drops to report; the caller accounts it.
func (c *conn) appendMsgLocked(sid uint64, q *subQueue, m *broker.Message) {
	headers := m.Headers
	if n, ok := q.Report(); ok {
		c.hdr = appendDropped(c.hdr[:0], m.Headers, n)
		headers = c.hdr
	}
	c.out = wire.AppendMsg(c.out, sid, m.Subject, m.Reply, m.From, wire.Mode(m.Mode), headers, m.Payload)
}

// startWriteLocked tells every queue that the flusher took out for writing.
func (c *conn) startWriteLocked() {
	for _, q := range c.subq {
		q.StartWrite()
	}
	for _, q := range c.streamq {
		q.StartWrite()
	}
}

// refillLocked runs after a completed write: it hands waiting messages to
// the writer while each subscription has room, wakes waiting publishers,
// and reports whether it appended anything.
func (c *conn) refillLocked() bool {
	moved := false
	for sid, q := range c.subq {
		q.Wrote()
		if c.handLocked(sid, q, (*subQueue).Hand) {
			moved = true
		}
	}
	for id, q := range c.streamq {
		q.Wrote()
		if c.handDataLocked(id, q, (*streamQueue).Hand) {
			moved = true
		}
	}
	c.wakeLocked()
	return moved
}

// handAllLocked hands every waiting message to the writer, whatever the
// limits, for a connection's final flush.
func (c *conn) handAllLocked() {
	for sid, q := range c.subq {
		c.handLocked(sid, q, (*subQueue).Pop)
	}
	for id, q := range c.streamq {
		c.handDataLocked(id, q, (*streamQueue).Pop)
	}
}

// handLocked appends the messages next takes from q.
func (c *conn) handLocked(sid uint64, q *subQueue, next func(*subQueue) (heldMsg, bool)) bool {
	bytes, n, before := q.Bytes(), q.Len(), len(c.out)
	for h, ok := next(q); ok; h, ok = next(q) {
		m := h.message()
		c.appendMsgLocked(sid, q, &m)
	}
	c.pending += len(c.out) - before - (bytes - q.Bytes())
	c.outMsgs += n - q.Len()
	c.heldMsgs -= n - q.Len()
	c.notePeak()
	return q.Len() != n
}
