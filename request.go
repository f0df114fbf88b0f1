package ferry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ferrymq/ferry/internal/wire"
)

// requests routes replies to waiting Request calls. One wildcard
// subscription per Conn, on _INBOX.<endpoint ID>.*, is created by the first
// Request; each request listens on its own _INBOX.<endpoint ID>.<n>.
type requests struct {
	subMu  sync.Mutex // guards sub and prefix; held while creating sub
	sub    *Subscription
	prefix string // "_INBOX.<id>."

	mu      sync.Mutex // guards next and waiting
	next    uint64
	waiting map[uint64]chan *Msg
}

// Request publishes data on subject with a reply address and waits for the
// first reply. It returns ErrNoResponders at once when nobody can receive
// the request, and ErrTimeout (also matching ctx's error) when ctx ends.
// Without a deadline on ctx it waits until ctx is canceled. While
// disconnected, or when the connection is lost before the server accepted
// the request, it fails with ErrDisconnected.
func (c *Conn) Request(ctx context.Context, subject string, data []byte) (*Msg, error) {
	return c.RequestMsg(ctx, &Msg{Subject: subject, Data: data})
}

// RequestMsg sends m as a request to m.Target and waits for the first reply.
// m.Reply is ignored: the reply address is the Conn's own.
func (c *Conn) RequestMsg(ctx context.Context, m *Msg) (*Msg, error) {
	if m == nil {
		return nil, fmt.Errorf("ferry: request: nil message")
	}
	prefix, err := c.req.ensure(c)
	if err != nil {
		return nil, fmt.Errorf("ferry: request %q: %w", m.Subject, err)
	}
	token, replies := c.req.add()
	defer c.req.remove(token)
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	reply := prefix + strconv.FormatUint(token, 10)
	if err := c.publish(ref, m.Subject, reply, m.Target, m.Header, m.Data); err != nil {
		c.dropRef(ref)
		return nil, err
	}
	for {
		select {
		case r := <-replies:
			c.dropRef(ref) // the reply may overtake the server's OK
			return r, nil
		case res := <-answer:
			answer = nil
			switch {
			case res.err != nil:
				return nil, fmt.Errorf("ferry: request %q: %w", m.Subject, res.err)
			case res.count == 0:
				return nil, fmt.Errorf("ferry: request %q: %w", m.Subject, ErrNoResponders)
			}
		case <-ctx.Done():
			c.dropRef(ref)
			return nil, fmt.Errorf("ferry: request %q: %w", m.Subject, ctxErr(ctx))
		}
	}
}

// ensure creates the reply subscription once and returns the reply prefix.
// A failed attempt is retried by the next Request.
func (r *requests) ensure(c *Conn) (string, error) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.sub != nil {
		return r.prefix, nil
	}
	prefix := "_INBOX." + c.id + "."
	s, err := c.subscribe(prefix+"*", subOptions{scope: uint8(wire.ScopeTopic)}, func(m *Msg) {
		r.deliver(prefix, m)
	}, nil)
	if err != nil {
		return "", err
	}
	r.sub, r.prefix = s, prefix
	return prefix, nil
}

// add registers a new request and returns its token and reply channel.
func (r *requests) add() (uint64, chan *Msg) {
	ch := make(chan *Msg, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		r.waiting = map[uint64]chan *Msg{}
	}
	r.next++
	r.waiting[r.next] = ch
	return r.next, ch
}

func (r *requests) remove(token uint64) {
	r.mu.Lock()
	delete(r.waiting, token)
	r.mu.Unlock()
}

// deliver hands a reply to its request; later replies to the same request
// and replies nobody waits for are dropped.
func (r *requests) deliver(prefix string, m *Msg) {
	token, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, prefix), 10, 64)
	if err != nil {
		return
	}
	r.mu.Lock()
	ch := r.waiting[token]
	delete(r.waiting, token)
	r.mu.Unlock()
	if ch != nil {
		m.Sub = nil // the reply subscription is the Conn's own
		ch <- m
	}
}

// Respond answers requests on subjects matching pattern, in topic and inbox
// scope, with fn's return value. A nil return sends no reply; messages
// without a reply address are passed to fn and not answered. Combine with
// InGroup to share the requests among several responders.
func (c *Conn) Respond(pattern string, fn func(*Msg) []byte, opts ...SubOption) (*Subscription, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadSubscription)
	}
	so := buildSubOptions(opts, wire.ScopeTopic|wire.ScopeInbox)
	return c.subscribe(pattern, so, func(m *Msg) {
		out := fn(m)
		if out == nil || m.Reply == "" {
			return
		}
		if err := m.Respond(out); err != nil && !errors.Is(err, ErrClosed) {
			c.reportErr(fmt.Errorf("ferry: respond on %q: %w", m.Subject, err))
		}
	}, nil)
}
