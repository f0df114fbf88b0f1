package ferry

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ferrymq/ferry/internal/subject"
	"github.com/ferrymq/ferry/internal/wire"
)

// maxBacklog bounds the streams or channels a listener holds for Accept;
// past it new ones are refused.
const maxBacklog = 256

// IncomingStream is the receiving side of a one-way stream another
// endpoint opened. It is safe for concurrent use.
type IncomingStream struct{ f *flow }

// ID returns the stream's ID on this connection (even: the broker numbers
// the streams it opens to an endpoint).
func (s *IncomingStream) ID() uint64 { return s.f.id }

// From returns the endpoint ID of the stream's sender.
func (s *IncomingStream) From() string { return s.f.peer }

// Subject returns the subject the stream was opened on.
func (s *IncomingStream) Subject() string { return s.f.subject }

// Header returns the headers the sender gave the stream
// (WithStreamHeader); the caller must not modify them.
func (s *IncomingStream) Header() Header { return s.f.header }

// Recv returns the stream's next message, in order, with Seq set (1, 2,
// 3…), waiting for it while respecting ctx (ErrTimeout, also matching
// ctx.Err()). After the sender's clean end it returns io.EOF once every
// message was taken. When the stream failed it returns, after the
// messages already received, an error matching ErrStreamAborted (the
// sender aborted), ErrPeerGone (its connection closed), ErrSlowReceiver
// (this receiver was cut from a cut-slow stream), ErrDisconnected (this
// connection was lost) or ErrClosed. After Close it returns
// ErrStreamClosed.
func (s *IncomingStream) Recv(ctx context.Context) (*Msg, error) { return s.f.recv(ctx) }

// Close leaves the stream: the sender and the other receivers go on. The
// messages not yet taken are dropped. Close is idempotent; it returns nil,
// or the error that had already ended the stream.
func (s *IncomingStream) Close() error { return s.f.closeLocal(wire.StreamEnd, "", nil) }

// Dropped returns how many of the stream's messages this receiver lost
// under its drop policy (WithStreamBackpressure): the server's count (the
// Ferry-Dropped header of the stream's messages, which Recv strips) plus
// the messages the client itself dropped when more than the window waited
// for Recv. It is 0 for a paced receiver.
func (s *IncomingStream) Dropped() uint64 {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.f.serverDropped + s.f.localDropped
}

// Done is closed when the stream has ended, for any reason; messages may
// still wait for Recv.
func (s *IncomingStream) Done() <-chan struct{} { return s.f.done }

// Err returns why the stream ended: nil while it is open, after a clean
// end, and after Close; otherwise the error Recv reports once the
// received messages are taken.
func (s *IncomingStream) Err() error { return s.f.errValue() }

// HandleStreams accepts the streams opened on subjects matching pattern
// (a stream-scope subscription) and calls fn for each, on a goroutine of
// its own. When fn returns, the stream is closed (left) if it has not
// ended, so fn normally reads it to the end:
//
//	nc.HandleStreams("gps.>", func(s *ferry.IncomingStream) {
//		for {
//			m, err := s.Recv(ctx)
//			if err != nil { return } // io.EOF at the clean end
//			...
//		}
//	})
//
// Each stream is granted WithWindow's window as soon as it arrives.
// Unsubscribe stops accepting; streams already accepted go on. Like every
// subscription, it is restored after a reconnect (the streams themselves
// are not). A channel (Dial) arriving on it is refused: it is aborted with
// reason "not a one-way stream". When several stream-scope subscriptions
// of this connection match a subject, the one subscribed first takes the
// stream (as the broker decides whether to open it here).
func (c *Conn) HandleStreams(pattern string, fn func(*IncomingStream), opts ...StreamOption) (*Subscription, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadSubscription)
	}
	return c.listen(pattern, &streamAcceptor{handler: fn, opts: buildStreamOptions(opts)})
}

// StreamListener accepts the streams opened on a pattern (ListenStreams).
type StreamListener struct {
	sub *Subscription
	acc *streamAcceptor
}

// ListenStreams accepts the streams opened on subjects matching pattern,
// to be taken with Accept. Up to 256 streams wait for Accept; past that
// new ones are refused (this endpoint leaves them). Each is granted the
// window (WithWindow) as soon as it arrives. See HandleStreams for the
// rest.
func (c *Conn) ListenStreams(pattern string, opts ...StreamOption) (*StreamListener, error) {
	acc := &streamAcceptor{opts: buildStreamOptions(opts)}
	s, err := c.listen(pattern, acc)
	if err != nil {
		return nil, err
	}
	return &StreamListener{sub: s, acc: acc}, nil
}

// Accept returns the next stream, waiting for one while respecting ctx.
// After Close it returns an error matching ErrStreamClosed; after the
// connection was closed, ErrClosed.
func (l *StreamListener) Accept(ctx context.Context) (*IncomingStream, error) {
	f, err := l.acc.accept(ctx)
	if err != nil {
		return nil, err
	}
	return &IncomingStream{f: f}, nil
}

// Pattern returns the listener's subject pattern.
func (l *StreamListener) Pattern() string { return l.sub.pattern }

// Close stops accepting streams; those waiting for Accept are left.
// Streams already accepted go on. Close is idempotent.
func (l *StreamListener) Close() error { return l.acc.close(l.sub) }

// streamAcceptor is the client side of a stream-scope subscription: it
// takes the streams or channels the broker opens to it.
type streamAcceptor struct {
	c        *Conn
	channels bool // Listen: takes channels only; else one-way streams only
	opts     streamOptions
	handler  func(*IncomingStream) // HandleStreams; else a backlog for Accept

	mu      sync.Mutex // guards backlog and stopped
	backlog []*flow
	stopped bool
	kick    chan struct{} // capacity 1: the backlog grew
	quit    chan struct{} // closed by stop
}

// listen subscribes acc in stream scope on pattern.
func (c *Conn) listen(pattern string, acc *streamAcceptor) (*Subscription, error) {
	if err := checkSubject(pattern, true); err != nil {
		return nil, fmt.Errorf("ferry: listen: %w", err)
	}
	if err := acc.opts.checkBackpressure(acc.channels); err != nil {
		return nil, fmt.Errorf("ferry: listen: %w", err)
	}
	acc.c = c
	acc.kick, acc.quit = make(chan struct{}, 1), make(chan struct{})
	s := c.newSubscription(pattern, subOptions{scope: uint8(wire.ScopeStream),
		backpressure: acc.opts.backpressure, limit: acc.opts.bpLimit}, nil, nil)
	s.acc = acc
	return c.startSub(s)
}

// acceptorFor returns the acceptor of subj: the first stream-scope
// subscription (lowest SID) whose pattern matches, as the broker chooses.
func (c *Conn) acceptorFor(subj string) *streamAcceptor {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var best *Subscription
	for _, s := range c.subs {
		if s.acc != nil && (best == nil || s.sid < best.sid) && subject.Match(s.pattern, subj) {
			best = s
		}
	}
	if best == nil {
		return nil
	}
	return best.acc
}

// accept takes a STREAM_OPEN from the broker, on the read loop: it finds
// the acceptor, grants the window at once and hands the stream over.
func (c *Conn) accept(o *wire.StreamOpen) {
	subj := string(o.Subject)
	bidi := o.Flags&wire.StreamBidi != 0
	acc := c.acceptorFor(subj)
	refuse := func(code uint64, reason string) {
		c.w.appendCtl(&wire.StreamClose{Stream: o.Stream, Code: code, Reason: reason}, true)
	}
	switch {
	case acc == nil && bidi:
		refuse(wire.StreamAborted, "no listener for "+subj)
		return
	case acc == nil:
		refuse(wire.StreamEnd, "") // leave: the others go on
		return
	case acc.channels && !bidi:
		refuse(wire.StreamEnd, "") // leave the one-way stream: its other receivers go on
		return
	case !acc.channels && bidi:
		refuse(wire.StreamAborted, "not a one-way stream")
		return
	}
	kind := flowIn
	if bidi {
		kind = flowChannel
	}
	f := c.newFlow(o.Stream, kind, subj, string(o.From), &acc.opts)
	if !bidi {
		f.lossy = acc.opts.backpressure.lossy()
		f.policy = acc.opts.backpressure
	}
	if len(o.Headers) > 0 {
		hs, err := wire.ParseHeaders(o.Headers)
		if err != nil {
			c.reportErr(fmt.Errorf("%w: %s: open headers: %w", ErrProtocol, f.describe(), err))
		}
		for _, h := range hs {
			f.header = append(f.header, HeaderField(h))
		}
	}
	if bidi {
		f.roomMsgs, f.roomBytes = o.WindowMsgs, o.WindowBytes
	}
	c.register(f)
	f.grant()
	acc.offer(f)
}

// offer hands an accepted stream to the handler or the backlog.
func (a *streamAcceptor) offer(f *flow) {
	a.mu.Lock()
	switch {
	case a.stopped:
		a.mu.Unlock()
		a.refuse(f, "listener closed")
	case a.handler != nil:
		a.mu.Unlock()
		go a.handle(&IncomingStream{f: f})
	case len(a.backlog) >= maxBacklog:
		a.mu.Unlock()
		a.refuse(f, "listener backlog full")
	default:
		a.backlog = append(a.backlog, f)
		a.mu.Unlock()
		kick(a.kick)
	}
}

// handle runs the HandleStreams handler for s and leaves s afterwards.
func (a *streamAcceptor) handle(s *IncomingStream) {
	defer s.f.closeLocal(wire.StreamEnd, "", nil)
	a.handler(s)
}

// refuse turns away a stream that will not be accepted: a one-way stream
// is left (the others go on), a channel aborted.
func (a *streamAcceptor) refuse(f *flow, reason string) {
	if f.kind == flowChannel {
		f.closeLocal(wire.StreamAborted, reason, nil)
		return
	}
	f.closeLocal(wire.StreamEnd, "", nil)
}

// accept takes the next stream from the backlog. Streams that ended
// because this connection was lost are skipped.
func (a *streamAcceptor) accept(ctx context.Context) (*flow, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		a.mu.Lock()
		for len(a.backlog) > 0 {
			f := a.backlog[0]
			a.backlog[0] = nil
			a.backlog = a.backlog[1:]
			f.mu.Lock()
			dead := f.connLost
			f.mu.Unlock()
			if dead {
				continue
			}
			more := len(a.backlog) > 0
			a.mu.Unlock()
			if more {
				kick(a.kick)
			}
			return f, nil
		}
		stopped := a.stopped
		a.mu.Unlock()
		if stopped {
			if a.c.IsClosed() {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("ferry: listener: %w", ErrStreamClosed)
		}
		select {
		case <-a.kick:
		case <-a.quit:
		case <-ctx.Done():
			return nil, fmt.Errorf("ferry: accept: %w", ctxErr(ctx))
		}
	}
}

// stop ends accepting: it refuses the streams waiting in the backlog.
func (a *streamAcceptor) stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	backlog := a.backlog
	a.backlog = nil
	a.mu.Unlock()
	close(a.quit)
	for _, f := range backlog {
		a.refuse(f, "listener closed")
	}
}

// close unsubscribes the listener; closing twice is not an error.
func (a *streamAcceptor) close(s *Subscription) error {
	err := s.Unsubscribe()
	if errors.Is(err, ErrBadSubscription) {
		return nil
	}
	return err
}
