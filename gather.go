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
	g := &Gather{}
	answered := 0 // replies and acknowledgements
	var quiet <-chan time.Time
	var timer *time.Timer
	if o.quiet > 0 {
		timer = time.NewTimer(o.quiet)
		defer timer.Stop()
		quiet = timer.C
	}
	fail := func(err error) (*Gather, error) {
		return g, fmt.Errorf("ferry: request %q to %v: %w", m.Subject, m.Target, err)
	}
	// done reports whether the gather is over, setting Complete.
	done := func() bool {
		if k.anycast() {
			g.Complete = answered > 0
		} else {
			g.Complete = k.reached > 0 && answered+k.declined >= k.reached
		}
		over := g.Complete || (o.maxReplies > 0 && len(g.Replies) >= o.maxReplies)
		if over && k.answer != nil {
			// A reply overtook the server's OK, which follows at once:
			// wait for it so that Reached is known.
			select {
			case res := <-k.answer:
				k.answer = nil
				if k.accepted(res) == nil {
					g.Reached = k.reached
				}
			case <-ctx.Done():
			}
		}
		return over
	}
	for {
		select {
		case <-k.box.kick:
			for _, r := range k.box.take() {
				switch r.Status() {
				case StatusNoResponders:
					if len(g.Replies) == 0 {
						return fail(ErrNoResponders)
					}
					return g, nil
				case StatusDeclined:
					k.declined++
					g.Declined = k.declined
				case StatusAck:
					answered++
				default:
					answered++
					g.Replies = append(g.Replies, r)
				}
				if done() {
					return g, nil
				}
			}
			if timer != nil {
				timer.Reset(o.quiet)
			}
			k.checkDeclines(ctx)
		case res := <-k.answer:
			k.answer = nil
			if err := k.accepted(res); err != nil {
				return fail(err)
			}
			g.Reached = k.reached
			if done() {
				return g, nil
			}
		case n := <-k.candidates:
			if k.tooFewCandidates(n) {
				g.Complete = true
				return g, nil
			}
			k.checkDeclines(ctx)
		case <-quiet:
			if len(g.Replies) == 0 {
				return fail(fmt.Errorf("%w: no reply within the quiet period of %v", ErrTimeout, o.quiet))
			}
			return g, nil
		case <-ctx.Done():
			if len(g.Replies) == 0 {
				return fail(ctxErr(ctx))
			}
			return g, nil
		}
	}
}
