package ferry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ferrymq/ferry/internal/wire"
)

// SubOption configures a subscription.
type SubOption func(*subOptions)

type subOptions struct {
	group        string
	scope        uint8 // wire.Scope bits; zero means topic
	scopeSet     bool  // WithScope was given: scope overrides the call's default
	policy       uint8 // queue-group member choice (SUB policy byte)
	backpressure Backpressure
	limit        int // backpressure limit; 0 is the server's default

	// direct hands messages without a reply address to the handler on the
	// read loop, skipping the queue and the delivery goroutine; for
	// handlers that never block (the Conn's reply subscription).
	direct bool
}

// InGroup makes the subscription share messages with the other subscriptions
// in the named group on the same pattern: each message goes to one member
// (round-robin).
func InGroup(name string) SubOption { return func(o *subOptions) { o.group = name } }

// buildSubOptions applies opts; scope is the call's default scope.
func buildSubOptions(opts []SubOption, scope wire.Scope) subOptions {
	var so subOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&so)
		}
	}
	if !so.scopeSet || so.scope == 0 {
		so.scope = uint8(scope)
	}
	return so
}

// Subscribe calls fn for each message on subjects matching pattern (topic
// scope). Messages of one subscription are handled in order, one at a time,
// on a goroutine of the subscription's own.
//
// Subscribe waits until the server has accepted the subscription (bounded
// by the dial timeout), so an invalid pattern is reported here, matching
// ErrInvalidSubject. While disconnected it returns at once; the
// subscription is sent when the connection is back.
func (c *Conn) Subscribe(pattern string, fn func(*Msg), opts ...SubOption) (*Subscription, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadSubscription)
	}
	return c.subscribe(pattern, buildSubOptions(opts, wire.ScopeTopic), fn, nil)
}

// SubscribeChan delivers messages to ch. When ch is full, messages wait in
// the subscription's pending queue (see WithSubPending).
func (c *Conn) SubscribeChan(pattern string, ch chan<- *Msg, opts ...SubOption) (*Subscription, error) {
	if ch == nil {
		return nil, fmt.Errorf("%w: nil channel", ErrBadSubscription)
	}
	return c.subscribe(pattern, buildSubOptions(opts, wire.ScopeTopic), nil, ch)
}

// QueueSubscribe is Subscribe with InGroup(group): the members of a group
// share the messages, each message going to one member.
func (c *Conn) QueueSubscribe(pattern, group string, fn func(*Msg)) (*Subscription, error) {
	if group == "" {
		return nil, fmt.Errorf("%w: empty group name", ErrBadSubscription)
	}
	return c.Subscribe(pattern, fn, InGroup(group))
}

// Handle calls fn for messages targeted at this endpoint (inbox scope:
// unicast, broadcast, multicast by selector and anycast) on subjects
// matching pattern. An endpoint gets one copy of a targeted message: on its
// first inbox subscription matching the subject.
func (c *Conn) Handle(pattern string, fn func(*Msg), opts ...SubOption) (*Subscription, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadSubscription)
	}
	return c.subscribe(pattern, buildSubOptions(opts, wire.ScopeInbox), fn, nil)
}

// subscribe registers a subscription, sends SUB and waits for the server's
// answer.
func (c *Conn) subscribe(pattern string, so subOptions, fn func(*Msg), ch chan<- *Msg) (*Subscription, error) {
	if err := checkSubject(pattern, true); err != nil {
		return nil, fmt.Errorf("ferry: subscribe: %w", err)
	}
	if err := so.check(); err != nil {
		return nil, err
	}
	return c.startSub(c.newSubscription(pattern, so, fn, ch))
}

// startSub registers s, sends its SUB and waits for the server's answer.
// A subscription without a handler (a stream acceptor) gets no delivery
// goroutine.
func (c *Conn) startSub(s *Subscription) (*Subscription, error) {
	pattern := s.pattern
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		c.dropRef(ref)
		return nil, fmt.Errorf("%w: draining", ErrClosed)
	}
	sent, err := c.w.appendSub(s.subFrame(ref))
	if err != nil {
		c.mu.Unlock()
		c.dropRef(ref)
		return nil, err
	}
	c.subs[s.sid] = s
	c.mu.Unlock()
	if s.handler != nil {
		go s.deliver()
	} else {
		close(s.done)
	}
	if !sent {
		c.dropRef(ref)
		return s, nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.dialTimeout)
	defer cancel()
	_, err = c.awaitRef(ctx, ref, answer)
	switch {
	case err == nil, errors.Is(err, ErrDisconnected):
		return s, nil // a lost SUB is re-sent on reconnect
	case errors.Is(err, ErrClosed), c.ctx.Err() != nil:
		return nil, ErrClosed
	}
	if isServerErr(err) {
		c.forget(s) // refused: the server holds nothing to UNSUB
	} else {
		s.Unsubscribe() // no answer in time: the server may hold it
	}
	return nil, fmt.Errorf("ferry: subscribe %q: %w", pattern, err)
}

// forget removes s locally, without telling the server.
func (c *Conn) forget(s *Subscription) {
	c.mu.Lock()
	if c.subs[s.sid] == s {
		delete(c.subs, s.sid)
	}
	c.mu.Unlock()
	s.stop()
}

func (c *Conn) newSubscription(pattern string, so subOptions, fn func(*Msg), ch chan<- *Msg) *Subscription {
	s := &Subscription{
		conn: c, sid: c.nextSID.Add(1), pattern: pattern, group: so.group,
		scope: wire.Scope(so.scope), policy: so.policy, handler: fn, max: c.opts.subPending,
		backpressure: so.backpressure, limit: so.limit, direct: so.direct,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	if ch != nil {
		s.handler = func(m *Msg) {
			select {
			case ch <- m:
			case <-s.quit:
			}
		}
	}
	return s
}

// Subscription is an interest in a subject pattern.
type Subscription struct {
	conn    *Conn
	sid     uint64 // client-chosen, unique per Conn, kept across reconnects
	pattern string
	group   string
	scope   wire.Scope
	policy  uint8
	handler func(*Msg)
	max     int // most messages pending before drops

	backpressure Backpressure    // the server's policy for this subscription (SUB)
	limit        int             // its limit; 0 is the server's default
	acc          *streamAcceptor // set for HandleStreams, ListenStreams and Listen: no handler, no MSGs
	direct       bool            // see subOptions.direct

	mu       sync.Mutex // guards queue, pending, slow, draining, stopped
	queue    []*Msg     // received, not yet taken by deliver
	pending  int        // queued plus taken but not yet handled
	slow     bool       // dropping; reported once per episode
	draining bool       // deliver exits once pending reaches zero
	stopped  bool       // no more messages are accepted

	dropped atomic.Uint64 // dropped by the client: the pending queue was full

	// Drops the server reported (Ferry-Dropped) under a backpressure
	// policy: the latest cumulative count on this connection, plus what
	// earlier connections reported (server counts restart on reconnect).
	serverDropped atomic.Uint64
	serverBase    atomic.Uint64
	kick          chan struct{} // wakes deliver; capacity 1
	quit          chan struct{} // closed by stop: abandon pending messages
	done          chan struct{} // closed when deliver has exited
}

// Pattern returns the subscription's subject pattern.
func (s *Subscription) Pattern() string { return s.pattern }

// Group returns the group name, or "".
func (s *Subscription) Group() string { return s.group }

// Dropped returns how many messages were dropped: by the client because
// the subscription's pending queue was full (WithSubPending), plus those the
// server reported dropping under a backpressure policy (WithBackpressure).
func (s *Subscription) Dropped() uint64 {
	return s.dropped.Load() + s.serverBase.Load() + s.serverDropped.Load()
}

// Pending returns how many received messages wait for the handler,
// including the one being handled.
func (s *Subscription) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Unsubscribe ends the subscription. Messages still pending are abandoned;
// the handler may be running one when Unsubscribe returns. It may be called
// from the handler itself.
func (s *Subscription) Unsubscribe() error {
	c := s.conn
	c.mu.Lock()
	if c.subs[s.sid] != s {
		c.mu.Unlock()
		if c.IsClosed() {
			return ErrClosed
		}
		return fmt.Errorf("%w: %q already unsubscribed", ErrBadSubscription, s.pattern)
	}
	delete(c.subs, s.sid)
	err := c.w.appendUnsub(s.sid)
	c.mu.Unlock()
	s.stop()
	if errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

func (s *Subscription) subFrame(ref uint64) *wire.Sub {
	return &wire.Sub{Ref: ref, SID: s.sid, Scope: s.scope, Pattern: []byte(s.pattern), Group: []byte(s.group), Policy: s.policy,
		Backpressure: uint8(s.backpressure), Limit: uint64(s.limit)}
}

// enqueue queues m for the handler, or drops it when the queue is full. It
// runs on the read loop and never blocks on the handler.
func (s *Subscription) enqueue(m *Msg) {
	s.mu.Lock()
	switch {
	case s.stopped:
		s.mu.Unlock()
		return
	case s.pending >= s.max:
		first := !s.slow
		s.slow = true
		s.mu.Unlock()
		n := s.dropped.Add(1)
		if first {
			s.conn.reportErr(fmt.Errorf("%w: subscription %q dropped a message: %d pending (%d dropped so far)",
				ErrSlowConsumer, s.pattern, s.max, n))
		}
		return
	}
	s.slow = false
	s.queue = append(s.queue, m)
	s.pending++
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// deliver runs the handler for queued messages, in order, until the
// subscription is stopped, or drained and empty.
func (s *Subscription) deliver() {
	defer close(s.done)
	var batch []*Msg
	for {
		s.mu.Lock()
		for len(s.queue) == 0 {
			if s.stopped || s.draining {
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			select {
			case <-s.kick:
			case <-s.quit:
				return
			}
			s.mu.Lock()
		}
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for i, m := range batch {
			select {
			case <-s.quit:
				return
			default:
			}
			s.handler(m)
			if m.Reply != "" {
				s.acknowledge(m)
			}
			batch[i] = nil
			s.mu.Lock()
			if !s.stopped {
				s.pending--
			}
			s.mu.Unlock()
		}
	}
}

// stop ends delivery at once; pending messages are abandoned. A stream
// acceptor refuses the streams not yet accepted.
func (s *Subscription) stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.queue = nil
	s.pending = 0
	close(s.quit)
	s.mu.Unlock()
	if s.acc != nil {
		s.acc.stop()
	}
}

// drain lets deliver finish the queued messages and exit. A stream
// acceptor stops at once: streams already accepted go on until the close.
func (s *Subscription) drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if s.acc != nil {
		s.acc.stop()
	}
}
