package ferry

import (
	"context"
	"fmt"
	"time"
)

// GatherOption configures RequestMany.
type GatherOption func(*gatherOptions)

type gatherOptions struct {
	maxReplies int           // 0: no limit
	quiet      time.Duration // 0: none
}

// MaxReplies makes RequestMany stop after n replies (n ≤ 0: no limit).
func MaxReplies(n int) GatherOption { return func(o *gatherOptions) { o.maxReplies = n } }

// QuietPeriod makes RequestMany stop when nothing (a reply, a decline or an
// acknowledgement) arrived for d: after the send, then after each arrival
// (d ≤ 0: no quiet period).
func QuietPeriod(d time.Duration) GatherOption { return func(o *gatherOptions) { o.quiet = d } }

// Gather is the outcome of a scatter-gather request (RequestMany).
type Gather struct {
	Replies  []*Msg // in arrival order, excluding declines and status messages; From says who answered
	Reached  int    // receivers the broker delivered the request to (its OK count)
	Declined int    // receivers that declined (for anycast: candidates that declined before one answered)
	Complete bool   // every reached receiver answered or declined
}

// RequestMany sends m as a request to m.Target (a broadcast, a multicast,
// an anycast, the subscribers of m.Subject, or one endpoint) and collects
// the replies, with a fresh reply address as Request uses.
//
// The server's acknowledgement says how many receivers it reached, so
// RequestMany knows when everybody has spoken: it returns as soon as every
// reached receiver answered or declined (Complete), without waiting out a
// timeout. Receivers that will not answer should decline (Msg.Decline; a
// Respond handler declines by returning nil). It also returns after
// MaxReplies replies, after a QuietPeriod without arrivals, or when ctx
// ends.
//
// Errors: reaching nobody is ErrNoResponders at once, as is the server's
// no-responders status (an anycast whose candidates all failed) before any
// reply. When ctx ends or the quiet period passes, the replies so far are
// returned with a nil error, or, with no reply at all, with an error
// matching ErrTimeout. A complete gather where every receiver declined is
// not an error: Replies is empty and Declined equals Reached. The returned
// *Gather is never nil once the request was sent; Acknowledgements
// (SendAck-style Ferry-Status: ack) count as answers but are not in Replies.
func (c *Conn) RequestMany(ctx context.Context, m *Msg, opts ...GatherOption) (*Gather, error) {
	if m == nil {
		return nil, fmt.Errorf("ferry: request: nil message")
	}
	var o gatherOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	k, err := c.startCall(m, m.Header)
	if err != nil {
		return nil, err
	}
	defer k.end()
	gt := &gatherer{ctx: ctx, k: k, o: o, g: &Gather{}}
	if err := gt.run(); err != nil {
		return gt.g, fmt.Errorf("ferry: request %q to %v: %w", m.Subject, m.Target, err)
	}
	return gt.g, nil
}

// gatherer collects the answers of one RequestMany.
type gatherer struct {
	ctx      context.Context
	k        *call
	o        gatherOptions
	g        *Gather
	answered int // replies and acknowledgements
}

// run waits for answers until the gather is complete, capped, quiet, or
// its context ends.
func (gt *gatherer) run() error {
	k, g := gt.k, gt.g
	var quiet <-chan time.Time
	var timer *time.Timer
	if gt.o.quiet > 0 {
		timer = time.NewTimer(gt.o.quiet)
		defer timer.Stop()
		quiet = timer.C
	}
	for {
		select {
		case <-k.box.kick:
			if over, err := gt.take(); over || err != nil {
				return err
			}
			if timer != nil {
				timer.Reset(gt.o.quiet)
			}
			k.checkDeclines(gt.ctx)
		case res := <-k.answer:
			k.answer = nil
			if err := k.accepted(res); err != nil {
				return err
			}
			g.Reached = k.reached
			if gt.done() {
				return nil
			}
		case n := <-k.candidates:
			if k.tooFewCandidates(n) {
				g.Complete = true
				return nil
			}
			k.checkDeclines(gt.ctx)
		case <-quiet:
			return gt.ended(fmt.Errorf("%w: no reply within the quiet period of %v", ErrTimeout, gt.o.quiet))
		case <-gt.ctx.Done():
			return gt.ended(ctxErr(gt.ctx))
		}
	}
}

// ended is the result of a gather stopped early: err only when nothing
// was received.
func (gt *gatherer) ended(err error) error {
	if len(gt.g.Replies) == 0 {
		return err
	}
	return nil
}

// take counts the answers that arrived; over reports the gather's end.
func (gt *gatherer) take() (over bool, err error) {
	for _, r := range gt.k.box.take() {
		switch r.Status() {
		case StatusNoResponders:
			return true, gt.ended(ErrNoResponders)
		case StatusDeclined:
			gt.k.declined++
			gt.g.Declined = gt.k.declined
		case StatusAck:
			gt.answered++
		default:
			gt.answered++
			gt.g.Replies = append(gt.g.Replies, r)
		}
		if gt.done() {
			return true, nil
		}
	}
	return false, nil
}

// done reports whether the gather is over, setting Complete.
func (gt *gatherer) done() bool {
	k, g := gt.k, gt.g
	if k.anycast() {
		g.Complete = gt.answered > 0
	} else {
		g.Complete = k.reached > 0 && gt.answered+k.declined >= k.reached
	}
	over := g.Complete || (gt.o.maxReplies > 0 && len(g.Replies) >= gt.o.maxReplies)
	if over && k.answer != nil {
		// A reply overtook the server's OK, which follows at once: wait
		// for it so that Reached is known.
		select {
		case res := <-k.answer:
			k.answer = nil
			if k.accepted(res) == nil {
				g.Reached = k.reached
			}
		case <-gt.ctx.Done():
		}
	}
	return over
}
