package ferry

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"

	"github.com/ferrymq/ferry/internal/wire"
)

// connState is the writer's view of the connection.
type connState uint8

const (
	stateUp   connState = iota // connected: frames go out
	stateDown                  // disconnected: only plain publishes are buffered
	stateDone                  // closed: nothing is accepted
)

// writer is the outbound side of a Conn. Callers append whole frames to buf
// under mu; one flusher goroutine swaps buf for its spare buffer and writes
// everything pending with one Write, so callers never wait for the network.
type writer struct {
	kick        chan struct{} // wakes the flusher; capacity 1
	smallWrites int           // owned by the flusher: writes much smaller than their buffer, in a row

	mu    sync.Mutex // guards every field below
	space sync.Cond  // on mu: signalled when the flusher takes buf, or the state changes
	state connState
	nc    net.Conn // nil unless state is stateUp
	buf   []byte   // whole frames waiting for the flusher
	spare []byte   // the flusher's last buffer, handed back to buf on swap

	limit      int // most bytes buf may hold while disconnected
	outCap     int // buf length at which publishers wait for the flusher while connected
	waiters    int // publishers waiting on space
	maxPayload int // from INFO; 0 means no limit
	maxHeaders int // from INFO; 0 means no limit

	// pongs has one entry per PING in flight, in send order (the server
	// answers in order); keep-alive pings have nil entries.
	pongs []chan error

	hdrs   []wire.HeaderField // scratch for encoding headers
	hdrBuf []byte             // scratch header block
}

// usable reports why a frame cannot be queued now: ErrClosed when closed,
// and ErrDisconnected while disconnected unless the frame is a plain
// publish (buffered).
func (w *writer) usable(needConn bool) error {
	switch {
	case w.state == stateDone:
		return ErrClosed
	case w.state == stateDown && needConn:
		return fmt.Errorf("%w: not connected", ErrDisconnected)
	}
	return nil
}

// wake tells the flusher there is something to write.
func (w *writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// minOutCap is the least outCap, whatever the reconnect buffer.
const minOutCap = 1 << 20

func newWriter(reconnectBuf int) *writer {
	w := &writer{kick: make(chan struct{}, 1), limit: reconnectBuf, outCap: max(reconnectBuf, minOutCap)}
	w.space.L = &w.mu
	return w
}

// appendPub queues a PUB. With ref == 0 it is buffered while disconnected,
// up to limit bytes. While connected, a caller waits when outCap bytes are
// already pending: the network is slower than the publisher. It does not
// allocate once buffers are warm.
func (w *writer) appendPub(ref uint64, subj, reply string, t *wire.Target, h Header, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.state == stateUp && len(w.buf) >= w.outCap {
		w.waiters++
		w.space.Wait()
		w.waiters--
	}
	if err := w.usable(ref != 0); err != nil {
		return err
	}
	if w.maxPayload > 0 && len(data) > w.maxPayload {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrPayloadTooLarge, len(data), w.maxPayload)
	}
	hb := w.encodeHeaders(h)
	if w.maxHeaders > 0 && len(hb) > w.maxHeaders {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrHeadersTooLarge, len(hb), w.maxHeaders)
	}
	p := wire.Pub{Ref: ref, Subject: []byte(subj), Reply: []byte(reply), Target: *t, Headers: hb, Payload: data}
	n0 := len(w.buf)
	w.buf = p.Append(w.buf)
	if w.state == stateDown && len(w.buf) > w.limit {
		w.buf = w.buf[:n0]
		return fmt.Errorf("%w: reconnect buffer full (%d bytes)", ErrDisconnected, w.limit)
	}
	w.wake()
	return nil
}

// encodeHeaders returns the wire header block for h in scratch space that
// is valid until the next call; w.mu must be held.
func (w *writer) encodeHeaders(h Header) []byte {
	if len(h) == 0 {
		return nil
	}
	w.hdrs = w.hdrs[:0]
	for _, f := range h {
		w.hdrs = append(w.hdrs, wire.HeaderField(f))
	}
	w.hdrBuf = wire.AppendHeaders(w.hdrBuf[:0], w.hdrs)
	clear(w.hdrs)
	return w.hdrBuf
}

// appendSub queues a SUB. While disconnected it queues nothing and reports
// sent == false: live subscriptions are re-sent on reconnect.
func (w *writer) appendSub(s *wire.Sub) (sent bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateUp {
		return false, w.usable(false)
	}
	w.buf = s.Append(w.buf)
	w.wake()
	return true, nil
}

// appendCtl queues a control frame (META, JOIN, LEAVE, QUERY). While
// disconnected it queues nothing: with needConn it fails with
// ErrDisconnected, else it reports sent == false (the state is restored on
// reconnect).
func (w *writer) appendCtl(f wire.Frame, needConn bool) (sent bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateUp {
		return false, w.usable(needConn)
	}
	w.buf = f.Append(w.buf)
	w.wake()
	return true, nil
}

// appendUnsub queues an UNSUB when connected.
func (w *writer) appendUnsub(sid uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateUp {
		return w.usable(false)
	}
	u := wire.Unsub{SID: sid}
	w.buf = u.Append(w.buf)
	w.wake()
	return nil
}

// appendPing queues a PING whose PONG is reported on done (nil for a
// keep-alive ping).
func (w *writer) appendPing(done chan error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(true); err != nil {
		return err
	}
	w.pongs = append(w.pongs, done)
	w.buf = wire.AppendEmpty(w.buf, wire.OpPing)
	w.wake()
	return nil
}

// appendPong answers a server PING.
func (w *writer) appendPong() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == stateUp {
		w.buf = wire.AppendEmpty(w.buf, wire.OpPong)
		w.wake()
	}
}

// gotPong completes the oldest PING in flight.
func (w *writer) gotPong() {
	w.mu.Lock()
	if len(w.pongs) == 0 {
		w.mu.Unlock()
		return
	}
	done := w.pongs[0]
	w.pongs[0] = nil
	w.pongs = w.pongs[1:]
	w.mu.Unlock()
	if done != nil {
		done <- nil
	}
}

// failPongs fails every PING in flight with err; w.mu must be held.
func (w *writer) failPongs(err error) {
	for _, done := range w.pongs {
		if done != nil {
			done <- err
		}
	}
	w.pongs = nil
}

// takeLocked swaps out everything pending, for the flusher; w.mu must be
// held. It returns nil when there is nothing to write or no connection.
func (w *writer) takeLocked() (net.Conn, []byte) {
	if w.nc == nil || len(w.buf) == 0 {
		return nil, nil
	}
	out := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.wakeWaiters()
	return w.nc, out
}

// wakeWaiters lets publishers waiting for space re-check; w.mu must be held.
func (w *writer) wakeWaiters() {
	if w.waiters > 0 {
		w.space.Broadcast()
	}
}

// done hands a written buffer back for reuse. A buffer that a burst left
// much larger than the writes since is dropped, to give the memory back.
func (w *writer) done(out []byte) {
	switch {
	case cap(out) <= minOutCap || len(out) >= cap(out)/16:
		w.smallWrites = 0
	case w.smallWrites < 64:
		w.smallWrites++
	default:
		w.smallWrites = 0
		out = nil
	}
	w.mu.Lock()
	w.spare = out[:0]
	w.mu.Unlock()
}

// keepPublishes compacts buf, in place, to its plain publishes (PUB frames
// with Ref 0), keeping at most limit bytes. It runs when the connection is
// lost: SUBs are re-sent from the live subscriptions, PINGs and PUBs that
// await an answer have failed.
func keepPublishes(buf []byte, limit int) []byte {
	out, rest := buf[:0], buf
	for len(rest) > 0 {
		op, body, next, need, err := wire.Split(rest, len(rest))
		if err != nil || need > 0 {
			break
		}
		frame := rest[:len(rest)-len(next)]
		if ref, n := binary.Uvarint(body); op == wire.OpPub && n > 0 && ref == 0 && len(out)+len(frame) <= limit {
			out = append(out, frame...)
		}
		rest = next
	}
	return out
}

// flusher writes what callers queue until the Conn closes, then writes
// what is left (bounded by the write deadline Close sets) and closes the
// socket.
func (c *Conn) flusher() {
	defer close(c.flusherDone)
	w := c.w
	for {
		select {
		case <-w.kick:
		case <-c.ctx.Done():
			c.finalFlush()
			return
		}
		w.mu.Lock()
		nc, out := w.takeLocked()
		w.mu.Unlock()
		if nc == nil {
			continue
		}
		if _, err := nc.Write(out); err != nil {
			nc.Close() // the read loop notices and reconnects
		}
		w.done(out)
	}
}

// finalFlush writes what is pending on Close and closes the socket.
func (c *Conn) finalFlush() {
	w := c.w
	w.mu.Lock()
	nc, out := w.takeLocked()
	if nc == nil {
		nc = w.nc
	}
	w.nc = nil
	w.mu.Unlock()
	if nc == nil {
		return
	}
	if len(out) > 0 {
		nc.Write(out) // bounded by the write deadline shutdown set
	}
	nc.Close()
}
