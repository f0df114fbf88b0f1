package native

import (
	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/stream"
	"github.com/ferrymq/ferry/internal/wire"
)

// Lossy stream receivers (docs/streams.md, "A receiver that would rather
// drop"). An acceptor whose stream-scope subscription chose drop-newest,
// drop-oldest or latest-per-key does not pace the stream's opener: the
// broker sends it every message and says so in the STREAM_OPEN frame
// (broker.StreamFrame.Backpressure, Limit). The connection then applies
// the policy per stream with the same two-stage stream.Queue as a
// subscription's MSGs (backpressure.go), keyed by the stream's ID here:
// at most limit messages handed to the writer, at most limit waiting, the
// policy acting on the waiting ones. The next STREAM_DATA after drops
// carries Ferry-Dropped (cumulative for the stream). Unlike MSGs, lossy
// stream data never cuts the connection: a message that would push the
// pending bytes past MaxPending is dropped (and counted) instead. Every
// field is guarded by conn.mu.

// streamQueue is one lossy stream's state.
type streamQueue = stream.Queue[heldData]

// heldData is a private copy of a STREAM_DATA waiting in a lossy
// stream's queue: headers then payload in one allocation.
type heldData struct {
	buf  []byte
	hdrs int // end of the headers in buf
	seq  uint64
	est  int // what it counts for in pending: an upper bound of its frame
}

// dataOverhead bounds a STREAM_DATA frame's size beyond its headers and
// payload, a Ferry-Dropped header included: frame header, four uvarints
// and the header field (13-byte name, up to 20 digits, two lengths).
const dataOverhead = 96

func dataEstimate(headers, payload []byte) int { return len(headers) + len(payload) + dataOverhead }

// addStreamQueueLocked starts applying policy bp (a lossy one) with limit
// to the stream id opened to this connection.
func (c *conn) addStreamQueueLocked(id uint64, bp uint8, limit uint64) {
	switch {
	case limit == 0:
		limit = wire.DefaultBackpressureLimit
	case limit > maxBackpressureLimit:
		limit = maxBackpressureLimit
	}
	if c.streamq == nil {
		c.streamq = make(map[uint64]*streamQueue)
	}
	c.streamq[id] = stream.NewQueue[heldData](stream.Policy(bp), int(limit))
}

// removeStreamQueueLocked forgets stream id's queue; with flush, its
// waiting messages are handed to the writer first (before a close frame
// that must follow them), else they are discarded.
func (c *conn) removeStreamQueueLocked(id uint64, flush bool) {
	q := c.streamq[id]
	if q == nil {
		return
	}
	if flush {
		c.handDataLocked(id, q, (*streamQueue).Pop)
	} else {
		c.pending -= q.Bytes()
		c.heldMsgs -= q.Len()
	}
	delete(c.streamq, id)
	if len(c.streamq) == 0 {
		c.streamq = nil
	}
}

// removeStreamQueue is removeStreamQueueLocked without flushing, for a
// stream this connection's client left.
func (c *conn) removeStreamQueue(id uint64) {
	c.mu.Lock()
	if c.streamq != nil {
		c.removeStreamQueueLocked(id, false)
	}
	c.mu.Unlock()
}

// streamDataQueuedLocked takes a lossy stream's data frame: to the writer
// when there is room, else into the queue under its policy, else dropped.
// It never cuts the connection.
func (c *conn) streamDataQueuedLocked(q *streamQueue, f *broker.StreamFrame) {
	est := dataEstimate(f.Headers, f.Payload)
	var dropped uint64
	reason := dropReason(q.Policy())
	switch {
	case c.pending+est > c.g.cfg.MaxPending:
		q.Discard()
		dropped, reason = 1, dropMaxPending
	case q.Direct():
		c.appendDataLocked(f.Stream, q, f.Seq, f.Headers, f.Payload)
	default:
		key := ""
		if q.Policy() == stream.LatestPerKey {
			key = messageKey(f.Headers, nil)
		}
		h := heldData{seq: f.Seq, est: est, hdrs: len(f.Headers)}
		h.buf = append(append(make([]byte, 0, len(f.Headers)+len(f.Payload)), f.Headers...), f.Payload...)
		bytes, n, before := q.Bytes(), q.Len(), q.Dropped()
		q.Push(h, key, est)
		c.pending += q.Bytes() - bytes
		c.notePeak()
		c.heldMsgs += q.Len() - n
		dropped = q.Dropped() - before
	}
	if dropped > 0 {
		c.g.dropped[reason].Add(dropped)
	}
}

// appendDataLocked appends a STREAM_DATA frame for stream id, adding the
// Ferry-Dropped header when q has drops to report.
func (c *conn) appendDataLocked(id uint64, q *streamQueue, seq uint64, headers, payload []byte) {
	if n, ok := q.Report(); ok {
		c.hdr = appendDropped(c.hdr[:0], headers, n)
		headers = c.hdr
	}
	before := len(c.out)
	c.out = wire.AppendStreamData(c.out, id, seq, headers, payload)
	c.pending += len(c.out) - before
	c.notePeak()
	c.outMsgs++
}

// handDataLocked appends the messages next takes from q, the queue of
// stream id, and reports whether it took any.
func (c *conn) handDataLocked(id uint64, q *streamQueue, next func(*streamQueue) (heldData, bool)) bool {
	n := q.Len()
	for h, ok := next(q); ok; h, ok = next(q) {
		// The frame replaces the held copy in pending; est bounds it, so
		// handing never raises pending.
		c.pending -= h.est
		c.heldMsgs--
		c.appendDataLocked(id, q, h.seq, h.buf[:h.hdrs], h.buf[h.hdrs:])
	}
	return q.Len() != n
}
