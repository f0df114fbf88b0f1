package ferry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"github.com/ferrymq/ferry/internal/wire"
)

// A flow is the client side of one stream or channel (docs/streams.md),
// whichever party this endpoint is: the common core of Stream,
// IncomingStream and Channel.
//
// Sending: the peer's grants add up in room; Send takes one message and its
// payload size from it and waits while it does not fit. Receiving: data is
// queued as it arrives; the broker never sends more than this side
// granted, so the queue holds at most the window. Recv re-grants what the
// application consumed once half the window (in messages or bytes) was
// consumed. A flow is registered in Conn.streams from its open until it
// ends; frames for an ID that is not registered are ignored (they crossed
// a close).

type flowKind uint8

const (
	flowOut     flowKind = iota // opener of a one-way stream: sends only
	flowIn                      // acceptor of a one-way stream: receives only
	flowChannel                 // either end of a channel: both
)

// Stream windows.
const (
	// DefaultWindowMsgs is the receive window, in messages, a stream
	// receiver or channel end grants unless WithWindow says otherwise.
	DefaultWindowMsgs = 256
	// DefaultWindowBytes is the default receive window in payload bytes.
	DefaultWindowBytes = 1 << 20
)

type flow struct {
	c       *Conn
	id      uint64 // this side's stream ID
	kind    flowKind
	subject string // the stream's subject or the channel's service
	peer    string // the other side's endpoint ID, "" when unknown
	header  Header // the open's headers

	winMsgs, winBytes uint64 // the receive window this side grants

	credit   chan struct{} // capacity 1: wakes a waiting Send
	readable chan struct{} // capacity 1: wakes a waiting Recv
	done     chan struct{} // closed when the flow ended

	mu sync.Mutex // guards every field below

	// Sending.
	roomMsgs, roomBytes uint64 // granted by the peer and not yet used
	seq                 uint64 // last sequence number sent
	sendDone            bool   // this side ended its sending: Close, CloseSend, Abort

	// Receiving.
	queue               []*Msg // received, from queue[head] on
	head                int
	peerDone            bool   // the peer's clean end or half-close arrived: io.EOF after the queue
	usedMsgs, usedBytes uint64 // consumed since the last grant
	recvStopped         bool   // this side stopped receiving (Close)

	// A lossy receiver (WithStreamBackpressure): the server does not pace
	// the sender by it and drops under policy; the client keeps at most
	// winMsgs waiting for Recv, applying the same policy past that.
	lossy         bool
	policy        Backpressure
	serverDropped uint64 // the server's cumulative Ferry-Dropped
	localDropped  uint64 // dropped by the client

	// The end.
	ended    bool  // over for good; unregistered
	local    bool  // ended by this side's Close or Abort
	connLost bool  // ended because this connection was lost or closed
	err      error // why it ended; nil for a clean end
}

func (c *Conn) newFlow(id uint64, kind flowKind, subject, peer string, o *streamOptions) *flow {
	f := &flow{
		c: c, id: id, kind: kind, subject: subject, peer: peer,
		credit: make(chan struct{}, 1), readable: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if kind != flowOut {
		f.winMsgs, f.winBytes = c.window(o)
	}
	return f
}

// window returns the receive window for o: the defaults for zero values,
// and never fewer bytes than the largest payload the server allows, so
// that any message fits.
func (c *Conn) window(o *streamOptions) (msgs, bytes uint64) {
	msgs, bytes = DefaultWindowMsgs, DefaultWindowBytes
	if o.winMsgs > 0 {
		msgs = uint64(o.winMsgs)
	}
	if o.winBytes > 0 {
		bytes = uint64(o.winBytes)
	}
	c.w.mu.Lock()
	mp := uint64(c.w.maxPayload)
	c.w.mu.Unlock()
	return msgs, max(bytes, mp)
}

// register adds f to the open flows.
func (c *Conn) register(f *flow) {
	c.streamMu.Lock()
	c.streams[f.id] = f
	c.streamMu.Unlock()
}

// unregister forgets f; frames for its ID are ignored from now on.
func (c *Conn) unregister(f *flow) {
	c.streamMu.Lock()
	if c.streams[f.id] == f {
		delete(c.streams, f.id)
	}
	c.streamMu.Unlock()
}

func (c *Conn) flow(id uint64) *flow {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	return c.streams[id]
}

// failStreams ends every open stream and channel with err: the connection
// is gone (ErrDisconnected) or closed (ErrClosed). Streams do not survive
// a reconnect: the broker ended them when the connection closed.
func (c *Conn) failStreams(err error) {
	c.streamMu.Lock()
	fs := c.streams
	c.streams = map[uint64]*flow{}
	c.streamMu.Unlock()
	for _, f := range fs {
		f.mu.Lock()
		if !f.ended {
			f.connLost = true
			f.endLocked(fmt.Errorf("%s: %w", f.describe(), err))
		}
		f.mu.Unlock()
	}
}

// describe names f in errors.
func (f *flow) describe() string {
	if f.kind == flowChannel {
		return fmt.Sprintf("ferry: channel %d (%s)", f.id, f.subject)
	}
	return fmt.Sprintf("ferry: stream %d (%s)", f.id, f.subject)
}

// endLocked ends f with err (nil: clean) and unregisters it; f.mu is held.
func (f *flow) endLocked(err error) {
	if f.ended {
		return
	}
	f.ended, f.err = true, err
	close(f.done)
	f.c.unregister(f)
}

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// streamFrame dispatches a stream frame from the read loop. It returns an
// error only for a frame that does not decode.
func (c *Conn) streamFrame(op wire.Op, body []byte) error {
	switch op {
	case wire.OpStreamOpen:
		var o wire.StreamOpen
		if err := o.Decode(body); err != nil {
			return err
		}
		if o.Stream%2 == 1 { // our own channel: the server names the acceptor
			if f := c.flow(o.Stream); f != nil && f.peer == "" {
				f.peer = string(o.From)
			}
			return nil
		}
		c.accept(&o)
	case wire.OpStreamData:
		var d wire.StreamData
		if err := d.Decode(body); err != nil {
			return err
		}
		if f := c.flow(d.Stream); f != nil {
			f.onData(&d)
		}
	case wire.OpStreamCredit:
		var cr wire.StreamCredit
		if err := cr.Decode(body); err != nil {
			return err
		}
		if f := c.flow(cr.Stream); f != nil {
			f.onCredit(cr.Msgs, cr.Bytes)
		}
	case wire.OpStreamClose:
		var cl wire.StreamClose
		if err := cl.Decode(body); err != nil {
			return err
		}
		if f := c.flow(cl.Stream); f != nil {
			f.onClose(cl.Code, cl.Reason)
		}
	}
	return nil
}

// onData queues a message from the peer.
func (f *flow) onData(d *wire.StreamData) {
	if f.kind == flowOut {
		return
	}
	m := &Msg{Subject: f.subject, From: f.peer, Seq: d.Seq, Data: bytes.Clone(d.Payload)}
	if len(d.Headers) > 0 {
		hs, err := wire.ParseHeaders(d.Headers)
		if err != nil {
			f.c.reportErr(fmt.Errorf("%w: %s: message %d: %w", ErrProtocol, f.describe(), d.Seq, err))
		}
		m.Header = make(Header, 0, len(hs))
		for _, h := range hs {
			m.Header = append(m.Header, HeaderField(h))
		}
	}
	var dropped uint64
	hasDropped := false
	if f.lossy {
		m.Header, dropped, hasDropped = takeDropped(m.Header)
	}
	f.mu.Lock()
	if hasDropped {
		f.serverDropped = dropped
	}
	if f.ended || f.peerDone || f.recvStopped {
		f.mu.Unlock()
		return
	}
	if f.lossy && uint64(len(f.queue)-f.head) >= max(f.winMsgs, 1) {
		f.localDropped++
		if !f.dropLocked(m) {
			f.mu.Unlock()
			return
		}
	}
	f.queue = append(f.queue, m)
	f.mu.Unlock()
	kick(f.readable)
}

// dropLocked applies a lossy receiver's policy to its full queue for the
// arriving m, and reports whether m is still to be appended: drop-newest
// drops m; latest-per-key puts m in place of the waiting message with its
// key (Ferry-Key, else ""), if any, else drops the oldest, as drop-oldest
// does.
func (f *flow) dropLocked(m *Msg) bool {
	switch f.policy {
	case BackpressureDropNewest:
		return false
	case BackpressureLatestPerKey:
		k := m.Header.Get(wire.KeyHeader)
		for i := f.head; i < len(f.queue); i++ {
			if f.queue[i].Header.Get(wire.KeyHeader) == k {
				f.queue[i] = m // in place, as the server does
				return false
			}
		}
	}
	f.queue[f.head] = nil
	f.head++
	return true
}

// takeDropped takes the server's Ferry-Dropped header (the last one) out
// of h and returns its count.
func takeDropped(h Header) (Header, uint64, bool) {
	for j := len(h) - 1; j >= 0; j-- {
		if h[j].Key != wire.DroppedHeader {
			continue
		}
		n, err := strconv.ParseUint(h[j].Value, 10, 64)
		h = slices.Delete(h, j, j+1)
		if len(h) == 0 {
			h = nil
		}
		return h, n, err == nil
	}
	return h, 0, false
}

// onCredit adds the peer's grant to the room for sending.
func (f *flow) onCredit(msgs, bytes uint64) {
	f.mu.Lock()
	f.roomMsgs += msgs
	f.roomBytes += bytes
	f.mu.Unlock()
	kick(f.credit)
}

// onClose handles the broker's STREAM_CLOSE.
func (f *flow) onClose(code uint64, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return
	}
	if code != wire.StreamEnd {
		f.endLocked(closeError(f, code, reason))
		return
	}
	switch f.kind {
	case flowIn:
		f.peerDone = true
		f.endLocked(nil)
	case flowChannel:
		f.peerDone = true
		kick(f.readable)
		if f.sendDone {
			f.endLocked(nil)
		}
	default: // the broker does not end a stream on its opener cleanly
		f.endLocked(fmt.Errorf("%s: %w: ended by the broker: %s", f.describe(), ErrStreamAborted, reason))
	}
}

// closeError is the error for a STREAM_CLOSE with code and reason.
func closeError(f *flow, code uint64, reason string) error {
	if reason == "" {
		reason = "no reason given"
	}
	switch code {
	case wire.StreamAborted:
		return fmt.Errorf("%s: %w: %s", f.describe(), ErrStreamAborted, reason)
	case wire.StreamPeerGone:
		return fmt.Errorf("%s: %w: %s", f.describe(), ErrPeerGone, reason)
	case wire.StreamSlow:
		return fmt.Errorf("%s: %w: %s", f.describe(), ErrSlowReceiver, reason)
	case wire.StreamNoReceivers:
		return fmt.Errorf("%s: %w (%w): %s", f.describe(), ErrPeerGone, ErrNoResponders, reason)
	case wire.StreamWindowExceed:
		return fmt.Errorf("%s: %w: %s", f.describe(), ErrWindowExceeded, reason)
	}
	return fmt.Errorf("%s: %w: close code %d: %s", f.describe(), ErrStreamAborted, code, reason)
}

// send sends one message, waiting while the peer's window has no room.
func (f *flow) send(ctx context.Context, h Header, data []byte) error {
	if err := f.c.w.checkSize(h, data); err != nil {
		return fmt.Errorf("%s: %w", f.describe(), err)
	}
	size := uint64(len(data))
	for {
		f.mu.Lock()
		if err := f.sendErrLocked(); err != nil {
			f.mu.Unlock()
			return err
		}
		if f.roomMsgs >= 1 && f.roomBytes >= size {
			err := f.c.w.appendStreamData(f.id, f.seq+1, h, data)
			if err == nil {
				f.seq++
				f.roomMsgs--
				f.roomBytes -= size
			}
			more := f.roomMsgs > 0
			f.mu.Unlock()
			if more {
				kick(f.credit) // another sender may be waiting
			}
			if err != nil {
				return fmt.Errorf("%s: %w", f.describe(), err)
			}
			return nil
		}
		f.mu.Unlock()
		if ctx == nil {
			ctx = context.Background()
		}
		select {
		case <-f.credit:
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("%s: send: %w", f.describe(), ctxErr(ctx))
		}
	}
}

// sendErrLocked reports why this side cannot send now, or nil.
func (f *flow) sendErrLocked() error {
	switch {
	case f.kind == flowIn:
		return fmt.Errorf("%s: %w: receive-only", f.describe(), ErrStreamClosed)
	case f.sendDone || f.local:
		kick(f.credit) // pass the wake-up on to other waiting senders
		return fmt.Errorf("%s: %w", f.describe(), ErrStreamClosed)
	case f.ended && f.err != nil:
		return f.err
	case f.ended:
		return fmt.Errorf("%s: %w", f.describe(), ErrStreamClosed)
	}
	return nil
}

// recv returns the next message, in order.
func (f *flow) recv(ctx context.Context) (*Msg, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		f.mu.Lock()
		if f.recvStopped {
			f.mu.Unlock()
			return nil, fmt.Errorf("%s: %w", f.describe(), ErrStreamClosed)
		}
		if f.head < len(f.queue) {
			m := f.queue[f.head]
			f.queue[f.head] = nil
			f.head++
			if f.head == len(f.queue) {
				f.queue, f.head = f.queue[:0], 0
			}
			f.consumedLocked(m)
			more := f.head < len(f.queue)
			f.mu.Unlock()
			if more {
				kick(f.readable) // another receiver may be waiting
			}
			return m, nil
		}
		if f.peerDone || f.ended {
			err := f.err
			if f.peerDone {
				err = nil // this direction ended cleanly, whatever came after
			}
			f.mu.Unlock()
			kick(f.readable)
			if err == nil {
				return nil, io.EOF
			}
			return nil, err
		}
		f.mu.Unlock()
		select {
		case <-f.readable:
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: recv: %w", f.describe(), ctxErr(ctx))
		}
	}
}

// consumedLocked counts m as consumed and re-grants credit once half the
// window was consumed.
func (f *flow) consumedLocked(m *Msg) {
	f.usedMsgs++
	f.usedBytes += uint64(len(m.Data))
	if f.ended || f.peerDone {
		return
	}
	if f.usedMsgs < max(f.winMsgs/2, 1) && f.usedBytes < max(f.winBytes/2, 1) {
		return
	}
	cr := &wire.StreamCredit{Stream: f.id, Msgs: f.usedMsgs, Bytes: f.usedBytes}
	f.usedMsgs, f.usedBytes = 0, 0
	f.c.w.appendCtl(cr, true) // when disconnected the flow is failed anyway
}

// grant sends the initial credit of a receiving side.
func (f *flow) grant() {
	f.c.w.appendCtl(&wire.StreamCredit{Stream: f.id, Msgs: f.winMsgs, Bytes: f.winBytes}, true)
}

// closeSend half-closes a channel: this side sends no more. The channel
// ends when both sides have half-closed.
func (f *flow) closeSend() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.ended && f.local, f.sendDone:
		return nil
	case f.ended:
		return f.err
	}
	f.sendDone = true
	kick(f.credit)
	f.c.w.appendCtl(&wire.StreamClose{Stream: f.id, Code: wire.StreamEnd}, true)
	if f.peerDone {
		f.endLocked(nil)
	}
	return nil
}

// closeLocal ends the flow from this side: it sends a STREAM_CLOSE with
// code and reason, stops receiving, and ends the flow with err. A flow
// that had already ended is left as it was: Close reports nil when this
// side ended it or it ended cleanly, else why it ended.
func (f *flow) closeLocal(code uint64, reason string, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return f.stopLocked()
	}
	f.c.w.appendCtl(&wire.StreamClose{Stream: f.id, Code: code, Reason: reason}, true)
	f.finishLocked(err)
	return nil
}

// closeChannel closes both directions of a channel: when the peer has
// finished sending it half-closes (if this side has not yet), else it
// aborts the channel with reason "closed".
func (f *flow) closeChannel() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.ended:
		return f.stopLocked()
	case !f.peerDone:
		f.c.w.appendCtl(&wire.StreamClose{Stream: f.id, Code: wire.StreamAborted, Reason: "closed"}, true)
	case !f.sendDone:
		f.c.w.appendCtl(&wire.StreamClose{Stream: f.id, Code: wire.StreamEnd}, true)
	}
	f.finishLocked(nil)
	return nil
}

// stopLocked is a local close of a flow that has already ended.
func (f *flow) stopLocked() error {
	if f.local {
		return nil
	}
	f.recvStopped = true
	f.queue, f.head = nil, 0
	return f.err
}

// finishLocked ends the flow by this side's decision.
func (f *flow) finishLocked(err error) {
	f.sendDone, f.recvStopped, f.local = true, true, true
	f.queue, f.head = nil, 0
	kick(f.credit)
	f.endLocked(err)
}

// errValue returns why the flow ended, or nil.
func (f *flow) errValue() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// checkSize checks a stream message against the server's limits.
func (w *writer) checkSize(h Header, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.maxPayload > 0 && len(data) > w.maxPayload {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrPayloadTooLarge, len(data), w.maxPayload)
	}
	if len(h) > 0 && w.maxHeaders > 0 {
		if hb := w.encodeHeaders(h); len(hb) > w.maxHeaders {
			return fmt.Errorf("%w: %d bytes, limit is %d", ErrHeadersTooLarge, len(hb), w.maxHeaders)
		}
	}
	return nil
}

// appendStreamData queues a STREAM_DATA; it needs a live connection. It
// does not allocate once buffers are warm.
func (w *writer) appendStreamData(id, seq uint64, h Header, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(true); err != nil {
		return err
	}
	w.buf = wire.AppendStreamData(w.buf, id, seq, w.encodeHeaders(h), data)
	w.wake()
	return nil
}

// appendStreamOpen queues a STREAM_OPEN; it needs a live connection.
func (w *writer) appendStreamOpen(o *wire.StreamOpen, h Header) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(true); err != nil {
		return err
	}
	o.Headers = w.encodeHeaders(h)
	if w.maxHeaders > 0 && len(o.Headers) > w.maxHeaders {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrHeadersTooLarge, len(o.Headers), w.maxHeaders)
	}
	w.buf = o.Append(w.buf)
	o.Headers = nil
	w.wake()
	return nil
}
