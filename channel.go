package ferry

import (
	"context"
	"fmt"

	"github.com/ferrymq/ferry/internal/wire"
)

// Channel is a bidirectional stream between two endpoints: both sides
// send ordered, flow-controlled messages until each has half-closed
// (CloseSend), or either closes or aborts it. It is safe for concurrent
// use.
type Channel struct{ f *flow }

// Dial opens a channel to one endpoint accepting channels on service
// (Listen) and waits until the broker has opened it. target names the
// endpoint: ToEndpoint(id), or Anycast(policy) narrowed as usual, e.g.
// Anycast(Nearest).Where("svc=echo"); other targets are ErrInvalidTarget.
// Reaching nobody is ErrNoResponders; the end of ctx ErrTimeout (also
// matching ctx.Err()); while disconnected ErrDisconnected.
//
// Options: WithWindow (this side's receive window, announced in the open),
// WithStreamHeader. Channels do not survive a lost connection: each open
// channel then ends with an error matching ErrDisconnected.
func (c *Conn) Dial(ctx context.Context, target Target, service string, opts ...StreamOption) (*Channel, error) {
	if target.mode != ModeUnicast && target.mode != ModeAnycast {
		return nil, fmt.Errorf("ferry: dial %q: %w: a channel goes to one endpoint: use ToEndpoint or Anycast, not %v",
			service, ErrInvalidTarget, target)
	}
	o := buildStreamOptions(opts)
	f, _, err := c.openFlow(ctx, flowChannel, service, target, 0, &o)
	if err != nil {
		return nil, fmt.Errorf("ferry: dial %q at %v: %w", service, target, err)
	}
	return &Channel{f: f}, nil
}

// ChannelListener accepts the channels dialled to a service (Listen).
type ChannelListener struct {
	sub *Subscription
	acc *streamAcceptor
}

// Listen accepts channels dialled to service (a stream-scope subscription;
// a pattern such as "echo.*" is allowed), to be taken with Accept. Each
// channel is granted this side's window (WithWindow) as soon as it
// arrives; up to 256 wait for Accept, past that new ones are aborted. A
// one-way stream opened on the service is left (closed with code 0 from
// this side), so its other receivers are not disturbed. The listener
// is restored after a reconnect; the channels are not.
func (c *Conn) Listen(service string, opts ...StreamOption) (*ChannelListener, error) {
	acc := &streamAcceptor{channels: true, opts: buildStreamOptions(opts)}
	s, err := c.listen(service, acc)
	if err != nil {
		return nil, err
	}
	return &ChannelListener{sub: s, acc: acc}, nil
}

// Accept returns the next channel, waiting for one while respecting ctx.
// After Close it returns an error matching ErrStreamClosed; after the
// connection was closed, ErrClosed.
func (l *ChannelListener) Accept(ctx context.Context) (*Channel, error) {
	f, err := l.acc.accept(ctx)
	if err != nil {
		return nil, err
	}
	return &Channel{f: f}, nil
}

// Service returns the listener's service pattern.
func (l *ChannelListener) Service() string { return l.sub.pattern }

// Close stops accepting channels; those waiting for Accept are aborted.
// Channels already accepted go on. Close is idempotent.
func (l *ChannelListener) Close() error { return l.acc.close(l.sub) }

// Peer returns the other side's endpoint ID. On the dialling side the
// server names the endpoint it chose before Dial returns, so this holds
// for anycast targets too.
func (ch *Channel) Peer() string { return ch.f.peer }

// Service returns the channel's service (the subject it was dialled on).
func (ch *Channel) Service() string { return ch.f.subject }

// ID returns the channel's ID on this connection: odd on the dialling
// side, even on the accepting side.
func (ch *Channel) ID() uint64 { return ch.f.id }

// Header returns the headers the dialer gave the channel
// (WithStreamHeader); the caller must not modify them.
func (ch *Channel) Header() Header { return ch.f.header }

// Send sends data as this side's next message. It waits, respecting ctx
// (ErrTimeout, also matching ctx.Err()), while the peer's window is used
// up. After CloseSend or Close it returns ErrStreamClosed; after the
// channel failed, why (Err).
func (ch *Channel) Send(ctx context.Context, data []byte) error { return ch.f.send(ctx, nil, data) }

// SendMsg sends m's headers and data as Send does; m's subject, reply and
// target are ignored.
func (ch *Channel) SendMsg(ctx context.Context, m *Msg) error {
	if m == nil {
		return fmt.Errorf("%s: send: nil message", ch.f.describe())
	}
	return ch.f.send(ctx, m.Header, m.Data)
}

// Recv returns the peer's next message, in order, with Seq set, waiting
// while respecting ctx. After the peer's half-close it returns io.EOF once
// every message was taken. When the channel failed it returns, after the
// messages already received, an error matching ErrPeerGone (the peer's
// connection closed), ErrStreamAborted (the peer aborted or closed before
// this side was done), ErrDisconnected or ErrClosed (this connection).
// After Close it returns ErrStreamClosed.
func (ch *Channel) Recv(ctx context.Context) (*Msg, error) { return ch.f.recv(ctx) }

// CloseSend half-closes the channel: this side sends no more, and the
// peer's Recv returns io.EOF after the messages sent so far. This side may
// still receive. The channel ends when both sides have half-closed.
// CloseSend is idempotent.
func (ch *Channel) CloseSend() error { return ch.f.closeSend() }

// Close ends the channel from this side: it stops receiving (messages not
// yet taken are dropped), and half-closes if the peer has finished
// sending; if the peer has not, it aborts the channel with reason
// "closed", and the peer's calls fail with ErrStreamAborted. Close is
// idempotent; it returns nil, or the error that had already ended the
// channel.
func (ch *Channel) Close() error { return ch.f.closeChannel() }

// Abort ends the channel at once for both sides; the peer's calls fail
// with an error matching ErrStreamAborted that carries reason.
func (ch *Channel) Abort(reason string) error {
	return ch.f.closeLocal(wire.StreamAborted, reason,
		fmt.Errorf("%s: %w by this side: %s", ch.f.describe(), ErrStreamAborted, reason))
}

// Done is closed when the channel has ended, for any reason: both sides
// half-closed, either closed or aborted it, or a connection was lost.
func (ch *Channel) Done() <-chan struct{} { return ch.f.done }

// Err returns why the channel ended: nil while it is open, after a clean
// end (both half-closes) and after this side's Close.
func (ch *Channel) Err() error { return ch.f.errValue() }
