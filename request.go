package ferry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ferrymq/ferry/internal/wire"
)

// requests routes replies to waiting Request calls. One wildcard
// subscription per Conn, on _INBOX.<endpoint ID>.*, is created by the first
// Request; each request listens on its own _INBOX.<endpoint ID>.<n>, and
// its replies (several for RequestMany, declines, status messages) are
// queued in its mailbox.
type requests struct {
	subMu  sync.Mutex // guards sub and prefix; held while creating sub
	sub    *Subscription
	prefix string // "_INBOX.<id>."

	mu      sync.Mutex // guards next and waiting
	next    uint64
	waiting map[uint64]*mailbox
}

// mailbox queues the replies to one request; it never blocks the reply
// subscription. Mailboxes are reused with their call (see callPool).
type mailbox struct {
	mu    sync.Mutex // guards msgs and spare
	msgs  []*Msg
	spare []*Msg        // the slice take returned last time, for reuse
	kick  chan struct{} // capacity 1: there are messages to take
}

func (b *mailbox) put(m *Msg) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// take returns the queued replies. The slice is valid until the next take
// (there is one reader, the waiting call).
func (b *mailbox) take() []*Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	ms := b.msgs
	clear(b.spare)
	b.msgs, b.spare = b.spare[:0], ms
	return ms
}

// reset empties b for reuse; nothing may put to it any more.
func (b *mailbox) reset() {
	clear(b.msgs)
	clear(b.spare)
	b.msgs, b.spare = b.msgs[:0], b.spare[:0]
	select {
	case <-b.kick:
	default:
	}
}

// Request publishes data on subject with a reply address and waits for the
// first reply. It returns ErrNoResponders at once when nobody can receive
// the request, and ErrTimeout (also matching ctx's error) when ctx ends.
// Without a deadline on ctx it waits until ctx is canceled. While
// disconnected, or when the connection is lost before the server accepted
// the request, it fails with ErrDisconnected.
//
// Declines (Msg.Decline, or a Respond handler returning nil) are not
// returned: they are counted, and when every receiver the server reached
// declined, Request returns ErrNoResponders without waiting for ctx. The
// server's Ferry-Status: no-responders (an anycast whose candidates all
// failed) is ErrNoResponders too. The reply's From is the endpoint that
// answered.
func (c *Conn) Request(ctx context.Context, subject string, data []byte) (*Msg, error) {
	return c.RequestMsg(ctx, &Msg{Subject: subject, Data: data})
}

// RequestMsg sends m as a request to m.Target and waits for the first reply,
// as Request does. m.Reply is ignored: the reply address is the Conn's own.
//
// An anycast request (Anycast) reaches one receiver at a time: when it
// declines, disconnects, or misses the target's AttemptTimeout, the server
// hands the request to the next-ranked candidate (at most 3 attempts), so a
// decline does not end the wait; the server's no-responders status does.
// When the only candidate declines (the server does not fail over a
// request with a single candidate), RequestMsg asks the server (Explain)
// how many candidates there are and returns ErrNoResponders.
func (c *Conn) RequestMsg(ctx context.Context, m *Msg) (*Msg, error) {
	if m == nil {
		return nil, fmt.Errorf("ferry: request: nil message")
	}
	return c.request(ctx, m, m.Header)
}

// request is RequestMsg with the headers to send.
func (c *Conn) request(ctx context.Context, m *Msg, h Header) (*Msg, error) {
	k, err := c.startCall(m, h)
	if err != nil {
		return nil, err
	}
	defer k.end()
	fail := func(err error) (*Msg, error) { return nil, fmt.Errorf("ferry: request %q: %w", m.Subject, err) }
	for {
		select {
		case <-k.box.kick:
			for _, r := range k.box.take() {
				switch r.Status() {
				case StatusNoResponders:
					return fail(ErrNoResponders)
				case StatusDeclined:
					k.declined++
				default:
					return r, nil
				}
			}
			if k.exhausted() {
				return fail(ErrNoResponders)
			}
			k.checkDeclines(ctx)
		case res := <-k.answer:
			k.answer = nil
			if err := k.accepted(res); err != nil {
				return fail(err)
			}
			if k.exhausted() {
				return fail(ErrNoResponders)
			}
		case n := <-k.candidates:
			if k.tooFewCandidates(n) {
				return fail(ErrNoResponders)
			}
			k.checkDeclines(ctx)
		case <-ctx.Done():
			return fail(ctxErr(ctx))
		}
	}
}

// call is one request in flight: the server's answer to its PUB, its
// replies, and what was counted so far.
type call struct {
	c      *Conn
	m      *Msg
	ref    uint64
	token  uint64
	answer chan refResult // nil once the OK or ERR arrived
	box    mailbox

	answerCh chan refResult // answer's channel, kept for reuse
	reply    []byte         // scratch for the reply subject

	reached  int // receivers the server delivered to; -1 until the OK
	declined int

	// For anycast: the number of candidates Explain found, asked for after
	// a decline (see checkDeclines).
	candidates chan int
	asking     bool
	asked      int // declines when Explain was last asked
}

// callPool recycles calls with their channels and buffers: a request
// then allocates little beyond its reply.
var callPool = sync.Pool{New: func() any {
	return &call{answerCh: make(chan refResult, 1), box: mailbox{kick: make(chan struct{}, 1)}}
}}

// startCall publishes m as a request with headers h and a fresh reply
// address.
func (c *Conn) startCall(m *Msg, h Header) (*call, error) {
	prefix, err := c.req.ensure(c)
	if err != nil {
		return nil, fmt.Errorf("ferry: request %q: %w", m.Subject, err)
	}
	k := callPool.Get().(*call)
	k.c, k.m, k.reached, k.declined, k.asking, k.asked = c, m, -1, 0, false, 0
	k.token = c.req.add(&k.box)
	k.ref = c.nextRef.Add(1)
	k.answer = k.answerCh
	c.addRefChan(k.ref, k.answer)
	k.reply = strconv.AppendUint(append(k.reply[:0], prefix...), k.token, 10)
	// The reply subject is copied into the writer's buffer by publish.
	if err := c.publish(k.ref, m.Subject, unsafe.String(unsafe.SliceData(k.reply), len(k.reply)), m.Target, h, m.Data); err != nil {
		k.end()
		return nil, err
	}
	return k, nil
}

// end forgets the call; later replies and a late OK are dropped. k must
// not be used afterwards: it goes back to callPool.
func (k *call) end() {
	k.c.dropRef(k.ref) // the replies may overtake the server's OK
	k.c.req.remove(k.token)
	// Neither resolveRef nor requests.deliver sends to k any more: both
	// send while holding the lock that dropRef and remove took.
	select {
	case <-k.answerCh:
	default:
	}
	k.box.reset()
	k.c, k.m, k.answer, k.candidates = nil, nil, nil, nil
	callPool.Put(k)
}

// accepted records the server's answer to the PUB.
func (k *call) accepted(res refResult) error {
	switch {
	case res.err != nil:
		return res.err
	case res.count == 0:
		return ErrNoResponders
	}
	k.reached = int(min(res.count, 1<<31-1))
	return nil
}

func (k *call) anycast() bool { return k.m.Target.mode == ModeAnycast }

// exhausted reports whether every receiver reached declined. An anycast
// is decided by the server's failover instead (see tooFewCandidates).
func (k *call) exhausted() bool {
	return !k.anycast() && k.reached > 0 && k.declined >= k.reached
}

// checkDeclines asks the server, after an anycast decline, how many
// candidates the request has: the server fails over only requests with
// more than one, and then reports no-responders itself when they run out.
func (k *call) checkDeclines(ctx context.Context) {
	if !k.anycast() || k.declined == 0 || k.asking || k.asked == k.declined {
		return
	}
	k.asking, k.asked = true, k.declined
	if k.candidates == nil {
		k.candidates = make(chan int, 1)
	}
	subject, target := k.m.Subject, k.m.Target // the caller may reuse m once the call returns
	c, candidates := k.c, k.candidates         // k is reused once the call returns
	go func() {
		n := -1
		if ex, err := c.Explain(ctx, subject, target); err == nil {
			n = 0
			for _, cd := range ex.Candidates {
				if cd.Matched && cd.Subscribed {
					n++
				}
			}
		}
		candidates <- n
	}()
}

// tooFewCandidates takes Explain's count: when every candidate declined,
// nobody is left to fail over to.
func (k *call) tooFewCandidates(n int) bool {
	k.asking = false
	return n >= 0 && n <= k.declined
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
	s, err := c.subscribe(prefix+"*", subOptions{scope: uint8(wire.ScopeTopic), direct: true}, func(m *Msg) {
		r.deliver(prefix, m)
	}, nil)
	if err != nil {
		return "", err
	}
	r.sub, r.prefix = s, prefix
	return prefix, nil
}

// add registers the mailbox of a new request and returns its token.
func (r *requests) add(b *mailbox) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		r.waiting = map[uint64]*mailbox{}
	}
	r.next++
	r.waiting[r.next] = b
	return r.next
}

func (r *requests) remove(token uint64) {
	r.mu.Lock()
	delete(r.waiting, token)
	r.mu.Unlock()
}

// deliver hands a reply to its request; replies nobody waits for are
// dropped. It puts while holding r.mu, so that once remove returns the
// mailbox gets nothing more and can be reused.
func (r *requests) deliver(prefix string, m *Msg) {
	token, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, prefix), 10, 64)
	if err != nil {
		return
	}
	m.Sub = nil // the reply subscription is the Conn's own
	r.mu.Lock()
	if b := r.waiting[token]; b != nil {
		b.put(m)
	}
	r.mu.Unlock()
}

// Respond answers requests on subjects matching pattern, in topic and inbox
// scope, with fn's return value. When fn returns nil for a request, Respond
// declines it (Msg.Decline: an empty reply with Ferry-Status: declined), so
// that a scatter-gather (RequestMany) completes without waiting and an
// anycast request goes to the next candidate at once; fn may also answer
// or decline itself with m.Respond, m.RespondMsg or m.Decline and return
// nil. Messages without a reply address are passed to fn and not answered.
// Combine with InGroup to share the requests among several responders.
func (c *Conn) Respond(pattern string, fn func(*Msg) []byte, opts ...SubOption) (*Subscription, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadSubscription)
	}
	so := buildSubOptions(opts, wire.ScopeTopic|wire.ScopeInbox)
	return c.subscribe(pattern, so, func(m *Msg) {
		out := fn(m)
		if m.Reply == "" {
			return
		}
		var err error
		switch {
		case out != nil:
			err = m.Respond(out)
		case !m.answered.Load():
			err = m.Decline()
		}
		if err != nil && !errors.Is(err, ErrClosed) {
			c.reportErr(fmt.Errorf("ferry: respond on %q: %w", m.Subject, err))
		}
	}, nil)
}

// SendAck sends m to m.Target as a request asking for an acknowledgement
// (header Ferry-Ack: required) and waits until a receiver has handled it.
// It returns the ID of the endpoint that handled m.
//
// The receiving client library acknowledges when the handler of any
// subscription kind (Subscribe, Handle, HandleGroup; for SubscribeChan,
// when m is handed to the channel) returns without having responded or
// declined: it replies with Ferry-Status: ack. A reply with data counts as
// handled too. With an anycast target, the server hands m to the next
// candidate when the chosen one disconnects, declines, or misses
// AttemptTimeout, so SendAck is at-least-once delivery to one of the
// candidates. To a target with several receivers (a broadcast, say),
// SendAck returns with the first acknowledgement. A Respond handler
// returning nil declines rather than acknowledges; when every receiver
// declined, SendAck returns ErrNoResponders. Other errors are those of
// RequestMsg.
func (c *Conn) SendAck(ctx context.Context, m *Msg) (from string, err error) {
	if m == nil {
		return "", fmt.Errorf("ferry: send: nil message")
	}
	h := slices.Clone(m.Header)
	h.Set(ackHeader, ackRequired)
	r, err := c.request(ctx, m, h)
	if err != nil {
		return "", err
	}
	return r.From, nil
}
