package native

import (
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

// maxSpare is the largest buffer the flusher keeps for reuse; bigger ones
// (after a burst) are released so idle connections stay small.
const maxSpare = 1 << 20

// The largest buffer the flusher keeps while bursts keep filling it is
// twice MaxPending (a buffer holding up to MaxPending bytes may have grown
// to that capacity), and at least maxBurstSpare: a buffer above
// maxSpare is kept as long as the writes use a good part of it, and
// released after burstSmallWrites writes in a row that used less than
// 1/16. Dropping it after every write made a sustained burst (large
// payloads to a busy subscriber) reallocate and re-grow the outbound
// buffer, copying it, on every write; with a fixed 16 MiB bound that still
// happened to a subscriber 16 MiB behind (64 KiB payloads: 1.1 → 1.5 GB/s
// in bench/ once the bound followed MaxPending).
const (
	maxBurstSpare    = 16 << 20
	burstSmallWrites = 64
)

// keepSpare reports whether the flusher should keep a written buffer of
// capacity n that held used bytes; c.mu must be held.
func (c *conn) keepSpare(n, used int) bool {
	switch {
	case n <= maxSpare:
		c.smallWrites = 0
		return true
	case n > max(maxBurstSpare, 2*c.g.cfg.MaxPending):
		return false
	case used >= n/16:
		c.smallWrites = 0
		return true
	case c.smallWrites < burstSmallWrites:
		c.smallWrites++
		return true
	}
	c.smallWrites = 0
	return false
}

// releaseBurstBuffersLocked gives back, once per ping interval, buffers
// kept after a burst, so a connection that went quiet does not hold
// megabytes until it writes again. c.mu must be held.
func (c *conn) releaseBurstBuffersLocked() {
	if cap(c.spare) > maxSpare {
		c.spare = nil
	}
	if len(c.out) == 0 && cap(c.out) > maxSpare {
		c.out = nil
	}
}

// Deliver implements broker.Sink: it appends a MSG frame to the outbound
// buffer. A connection whose queued bytes pass MaxPending is cut as a slow
// consumer, so it never slows the publisher or other receivers. A
// subscription with a backpressure policy goes through its queue instead
// (deliverQueued); with the Block policy Deliver may wait, up to
// WriteTimeout, for the subscriber to make room.
func (c *conn) Deliver(sid uint64, m *broker.Message) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if c.subq != nil {
		if q := c.subq[sid]; q != nil {
			return c.deliverQueued(sid, q, m)
		}
	}
	before := len(c.out)
	c.out = wire.AppendMsg(c.out, sid, m.Subject, m.Reply, m.From, wire.Mode(m.Mode), m.Headers, m.Payload)
	return c.commitLocked(before, 1)
}

// commitLocked accounts the frames appended to out since before (msgs of
// them messages) under the MaxPending rule: past it they are taken back and
// the connection is cut as a slow consumer. c.mu is held on entry and
// released on return; it reports whether the frames were kept.
func (c *conn) commitLocked(before, msgs int) bool {
	c.pending += len(c.out) - before
	if c.pending > c.g.cfg.MaxPending {
		c.pending -= len(c.out) - before
		c.out = c.out[:before]
		c.mu.Unlock()
		c.slowConsumer("outbound buffer passed max_pending")
		return false
	}
	c.outMsgs += msgs
	c.notePeak()
	c.mu.Unlock()
	c.signal()
	return true
}

// notePeak records the high-water mark of queued bytes; c.mu must be held.
func (c *conn) notePeak() {
	if q := c.pending - c.writing; q > c.peak {
		c.peak = q
	}
}

// PeakPending reports the most bytes ever queued for the connection and not
// yet handed to the socket: the bound that flow control and backpressure
// promise. (Bytes inside a socket write in progress are the kernel's to
// take; counting them would count data the receiver may already have.)
func (c *conn) PeakPending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak
}

// Pending implements broker.Sink: messages and bytes queued and not yet
// written to the socket.
func (c *conn) Pending() (msgs, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outMsgs + c.heldMsgs, c.pending - c.writing
}

// slowConsumer cuts the connection at once: a client that does not read
// will not read an ERR either, and its queued bytes are discarded. Only
// the call that closes the connection counts it.
func (c *conn) slowConsumer(why string) {
	if !c.close() {
		return
	}
	c.g.broker.CutSlowConsumer(c.ep.ID(), why)
	c.g.log.Warn("slow consumer disconnected", "id", c.ep.ID(), "reason", why,
		"max_pending", c.g.cfg.MaxPending, "write_timeout", c.g.cfg.WriteTimeout)
}

// queue appends a control frame built by fn; it is used for OK, ERR, PING
// and PONG.
func (c *conn) queue(fn func([]byte) []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	before := len(c.out)
	c.out = fn(c.out)
	c.pending += len(c.out) - before
	c.notePeak()
	c.mu.Unlock()
	c.signal()
}

func (c *conn) sendOk(ref uint64, count int, seq uint64) {
	c.queue(func(b []byte) []byte { return (&wire.Ok{Ref: ref, Count: uint64(count), Seq: seq}).Append(b) })
}

func (c *conn) sendErr(ref uint64, code wire.Code, msg string) {
	c.queue(func(b []byte) []byte { return (&wire.Err{Ref: ref, Code: code, Message: msg}).Append(b) })
}

func (c *conn) sendEmpty(op wire.Op) {
	c.queue(func(b []byte) []byte { return wire.AppendEmpty(b, op) })
}

func (c *conn) signal() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// close closes the connection at once, dropping what is queued, and
// reports whether it did (false: it was already closed or draining).
func (c *conn) close() bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	c.subq, c.streamq, c.heldMsgs = nil, nil, 0
	c.wakeLocked()
	c.mu.Unlock()
	c.nc.Close()
	c.signal()
	return true
}

// drain queues a final ERR, stops reading, and lets the flusher write
// everything queued, held messages included, before it closes the
// connection.
func (c *conn) drain(code wire.Code, msg string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.handAllLocked()
	c.out = (&wire.Err{Code: code, Message: msg}).Append(c.out)
	c.closed, c.draining = true, true
	c.wakeLocked()
	c.mu.Unlock()
	c.nc.SetReadDeadline(time.Now())
	c.signal()
}

// flushLoop writes the outbound buffer whenever it is kicked, coalescing
// every frame queued since the last write into one syscall.
// maxWriteChunk bounds one socket write. A big buffer is written in
// chunks, and each chunk leaves pending once written: a subscriber reading
// a large burst at full speed is not counted as holding the whole burst
// against MaxPending until the last byte is out, and the write timeout
// means no progress for that long, not a slow whole burst.
const maxWriteChunk = 4 << 20

// writeChunks writes buf in chunks of at most maxWriteChunk, taking each
// from c.pending and c.writing once written.
func (c *conn) writeChunks(buf []byte) error {
	for len(buf) > 0 {
		n := min(len(buf), maxWriteChunk)
		c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout))
		if _, err := c.nc.Write(buf[:n]); err != nil {
			return err
		}
		buf = buf[n:]
		if len(buf) > 0 { // the last chunk is accounted for with the rest
			c.mu.Lock()
			c.pending -= n
			c.writing -= n
			c.mu.Unlock()
		}
	}
	return nil
}

func (c *conn) flushLoop() {
	defer close(c.flushDone)
	for range c.kick {
		c.mu.Lock()
		buf := c.out
		if len(buf) > 0 { // an empty kick must not drop the buffer's capacity
			c.out, c.spare = c.spare[:0], nil
		}
		c.outMsgs = 0
		c.writing = len(buf)
		if c.subq != nil || c.streamq != nil {
			c.startWriteLocked()
		}
		closed, draining := c.closed, c.draining
		c.mu.Unlock()
		if len(buf) > 0 && (!closed || draining) {
			err := c.writeChunks(buf)
			c.mu.Lock()
			c.pending -= c.writing // the last chunk, or all an error left unwritten
			c.writing = 0
			if c.keepSpare(cap(buf), len(buf)) {
				c.spare = buf[:0]
			}
			more := (c.subq != nil || c.streamq != nil) && err == nil && c.refillLocked()
			c.mu.Unlock()
			if more {
				c.signal()
			}
			if err != nil {
				if isTimeout(err) && !closed {
					c.slowConsumer("socket write timed out")
				}
				c.close()
				closed = true
			}
		}
		if closed {
			c.nc.Close()
			return
		}
	}
}
