package ferry

import (
	"context"
	"fmt"

	"github.com/ferrymq/ferry/internal/wire"
)

// StreamOption configures a stream, a channel, or a stream or channel
// listener.
type StreamOption func(*streamOptions)

type streamOptions struct {
	winMsgs, winBytes int
	cutSlow           bool
	header            Header
	backpressure      Backpressure // a stream receiver's drop policy (WithStreamBackpressure)
	bpLimit           int
}

func buildStreamOptions(opts []StreamOption) streamOptions {
	var o streamOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithWindow sets the receive window this side grants: how many messages
// and payload bytes the broker may have sent it that the application has
// not taken with Recv yet. The defaults are DefaultWindowMsgs (256) and
// DefaultWindowBytes (1 MiB); zero or negative keeps a default, and the
// byte window is never smaller than the server's largest payload, so that
// any message fits. It applies to stream receivers (HandleStreams,
// ListenStreams) and to both ends of a channel (Dial, Listen); a one-way
// stream's opener receives nothing, so OpenStream ignores it.
//
// The client buffers at most the window per stream, and re-grants what the
// application consumed once half the window was consumed. A small window
// bounds memory and latency; a window smaller than the bandwidth-delay
// product slows the stream down.
func WithWindow(msgs, bytes int) StreamOption {
	return func(o *streamOptions) { o.winMsgs, o.winBytes = msgs, bytes }
}

// WithCutSlow makes a stream opened to several receivers cut a receiver
// that holds it back: when one receiver's window is used up while another
// has room, for the server's stall timeout (2 s by default), the broker
// cuts it (its Recv fails with ErrSlowReceiver) and the stream goes on at
// the pace of the others. Without it, the slowest receiver paces the
// stream: no receiver misses a message. For OpenStream only.
func WithCutSlow() StreamOption { return func(o *streamOptions) { o.cutSlow = true } }

// WithStreamHeader adds a header to the stream's or channel's open; the
// acceptors see it in IncomingStream.Header or Channel.Header. For
// OpenStream and Dial.
func WithStreamHeader(key, value string) StreamOption {
	return func(o *streamOptions) { o.header = append(o.header, HeaderField{key, value}) }
}

// Stream is the sending side of a one-way stream: an ordered,
// flow-controlled sequence of messages to the receivers reached when it
// was opened. It is safe for concurrent use; messages sent concurrently
// are numbered in the order they were queued.
type Stream struct {
	f         *flow
	receivers int
}

// OpenStream opens a one-way stream on subject to target and waits until
// the broker has opened it to its receivers: endpoints accepting streams on
// subject (HandleStreams, ListenStreams).
//
// The zero Target reaches every accepting endpoint (the broker relays each
// message to all of them); ToEndpoint(id) that endpoint; Anycast(p) one
// accepting endpoint chosen by policy p; Broadcast, Multicast and
// MulticastWhere every accepting endpoint among theirs. Reaching nobody is
// ErrNoResponders; a refusal is a *ServerError; the end of ctx ErrTimeout
// (also matching ctx.Err()); while disconnected ErrDisconnected.
//
// Options: WithCutSlow, WithStreamHeader. Streams do not survive a lost
// connection: each open stream then ends with an error matching
// ErrDisconnected.
func (c *Conn) OpenStream(ctx context.Context, subject string, target Target, opts ...StreamOption) (*Stream, error) {
	o := buildStreamOptions(opts)
	var flags uint8
	if o.cutSlow {
		flags |= wire.StreamCutSlow
	}
	f, n, err := c.openFlow(ctx, flowOut, subject, target, flags, &o)
	if err != nil {
		return nil, fmt.Errorf("ferry: open stream %q to %v: %w", subject, target, err)
	}
	return &Stream{f: f, receivers: n}, nil
}

// openFlow opens a stream or channel and waits for the broker's answer,
// returning the flow and the number of acceptors.
func (c *Conn) openFlow(ctx context.Context, kind flowKind, subject string, target Target, flags uint8, o *streamOptions) (*flow, int, error) {
	if err := checkSubject(subject, false); err != nil {
		return nil, 0, err
	}
	wt, err := wireTarget(&target)
	if err != nil {
		return nil, 0, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	peer := ""
	if target.mode == ModeUnicast {
		peer = target.to
	}
	id := 2*c.nextStream.Add(1) - 1
	f := c.newFlow(id, kind, subject, peer, o)
	f.header = o.header
	ref := c.nextRef.Add(1)
	so := wire.StreamOpen{Ref: ref, Stream: id, Flags: flags, Subject: readOnlyBytes(subject), Target: wt}
	if kind == flowChannel {
		so.Flags |= wire.StreamBidi
		so.WindowMsgs, so.WindowBytes = f.winMsgs, f.winBytes
	}
	answer := c.addRef(ref)
	// Registering and queueing under streamMu: a connection lost meanwhile
	// either refuses the frame or finds the flow to fail.
	c.streamMu.Lock()
	c.streams[id] = f
	err = c.w.appendStreamOpen(&so, o.header)
	if err != nil {
		delete(c.streams, id)
	}
	c.streamMu.Unlock()
	if err != nil {
		c.dropRef(ref)
		return nil, 0, err
	}
	res, err := c.awaitRef(ctx, ref, answer)
	if err == nil && res.count == 0 {
		err = ErrNoResponders
	}
	if err != nil {
		f.mu.Lock()
		if ctx.Err() != nil {
			// The broker may have opened it: take it down.
			c.w.appendCtl(&wire.StreamClose{Stream: id, Code: wire.StreamAborted, Reason: "open canceled"}, true)
		}
		f.finishLocked(err)
		f.mu.Unlock()
		return nil, 0, err
	}
	return f, int(min(res.count, 1<<31-1)), nil
}

// ID returns the stream's ID on this connection (odd: this side opened
// it).
func (s *Stream) ID() uint64 { return s.f.id }

// Subject returns the subject the stream was opened on.
func (s *Stream) Subject() string { return s.f.subject }

// Receivers returns the number of receivers the stream reached when it was
// opened.
func (s *Stream) Receivers() int { return s.receivers }

// Send sends data as the stream's next message. It waits, respecting ctx,
// while the receivers' window is used up: every receiver has been sent as
// many messages (or bytes) as it granted and not yet consumed (with
// WithCutSlow, until the broker cuts the laggard). The end of ctx is
// ErrTimeout, also matching ctx.Err(). After the stream ended it returns
// why (Err), or ErrStreamClosed after Close or Abort.
func (s *Stream) Send(ctx context.Context, data []byte) error { return s.f.send(ctx, nil, data) }

// SendMsg sends m's headers and data as the stream's next message, as Send
// does; m's subject, reply and target are ignored.
func (s *Stream) SendMsg(ctx context.Context, m *Msg) error {
	if m == nil {
		return fmt.Errorf("%s: send: nil message", s.f.describe())
	}
	return s.f.send(ctx, m.Header, m.Data)
}

// Close ends the stream cleanly: the receivers get the messages sent so
// far, then io.EOF. It does not wait for them. Close is idempotent; it
// returns nil, or the error that had already ended the stream.
func (s *Stream) Close() error { return s.f.closeLocal(wire.StreamEnd, "", nil) }

// Abort ends the stream at once for every receiver, whose Recv fails with
// an error matching ErrStreamAborted that carries reason. Messages still
// in flight may be lost. Afterwards Err matches ErrStreamAborted too.
func (s *Stream) Abort(reason string) error {
	return s.f.closeLocal(wire.StreamAborted, reason,
		fmt.Errorf("%s: %w by this side: %s", s.f.describe(), ErrStreamAborted, reason))
}

// Done is closed when the stream has ended, for any reason.
func (s *Stream) Done() <-chan struct{} { return s.f.done }

// Err returns why the stream ended: nil while it is open and after Close;
// otherwise an error matching ErrPeerGone and ErrNoResponders when every
// receiver left (closed its side, disconnected or was cut),
// ErrStreamAborted when aborted, ErrDisconnected when this connection was
// lost, ErrClosed when it was closed.
func (s *Stream) Err() error { return s.f.errValue() }
