package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Throughput scenarios: pub, pubsub, fanout, shared, large.

// Bounds that keep every run finite whatever the broker does.
const (
	maxRunTime   = 2 * time.Minute  // a -msgs run that takes longer fails
	drainTimeout = 10 * time.Second // for the last messages to arrive after publishing ends
	stallTimeout = 5 * time.Second  // no message received for this long while the window is full
)

// counter counts the messages one receiver (or one queue group) got and
// notes when the count reached the target, which is set once publishing
// has ended.
type counter struct {
	n      atomic.Int64
	target atomic.Int64
	end    atomic.Int64 // unix ns when n reached target
	fired  atomic.Bool
	done   chan struct{}
}

func newCounter() *counter {
	c := &counter{done: make(chan struct{})}
	c.target.Store(math.MaxInt64)
	return c
}

func (c *counter) inc() {
	if c.n.Add(1) >= c.target.Load() {
		c.finish()
	}
}

func (c *counter) finish() {
	if c.fired.CompareAndSwap(false, true) {
		c.end.Store(time.Now().UnixNano())
		close(c.done)
	}
}

// expect sets the target; the counter may have reached it already.
func (c *counter) expect(n int64) {
	c.target.Store(n)
	if c.n.Load() >= n {
		c.finish()
	}
}

// window is how many messages may be published and not yet received: it
// keeps every broker below its slow-consumer limits (Ferry 32 MiB, NATS
// 64 MB, Redis 32 MB per connection) and the clients below their pending
// limits, so that a run measures delivery, not drops.
func window(size int) int64 {
	return int64(min(max((16<<20)/size, 256), 50_000))
}

// publishFor publishes payloads on subject until cfg's duration or message
// count is reached, never more than win ahead of received() (when given).
// It returns how many it published and when it started.
func publishFor(cl client, subject string, payload []byte, cfg config, received func() int64, win int64) (int64, time.Time, error) {
	check := int64(256)
	if received != nil {
		check = max(1, min(check, win/8))
	}
	start := time.Now()
	deadline, hard := start.Add(cfg.duration), start.Add(maxRunTime)
	var n int64
	for cfg.msgs <= 0 || n < int64(cfg.msgs) {
		if n%check == 0 {
			now := time.Now()
			if cfg.msgs <= 0 && now.After(deadline) {
				break
			}
			if now.After(hard) {
				return n, start, fmt.Errorf("published %d messages in %v, gave up", n, maxRunTime)
			}
			if received != nil {
				if err := waitWindow(n, win, received); err != nil {
					return n, start, err
				}
			}
		}
		if err := cl.publish(subject, payload); err != nil {
			return n, start, fmt.Errorf("publish #%d: %w", n+1, err)
		}
		n++
	}
	return n, start, nil
}

// waitWindow waits until fewer than win of n published messages are
// unreceived; it fails when receiving makes no progress for stallTimeout.
func waitWindow(n, win int64, received func() int64) error {
	last, since := received(), time.Now()
	for n-last >= win {
		time.Sleep(50 * time.Microsecond)
		r := received()
		if r != last {
			last, since = r, time.Now()
		} else if time.Since(since) > stallTimeout {
			return fmt.Errorf("stalled: %d published, %d received, nothing for %v", n, r, stallTimeout)
		}
	}
	return nil
}

// waitAll waits for every counter to reach its target, bounded.
func waitAll(cs []*counter, timeout time.Duration) error {
	deadline := time.After(timeout)
	for _, c := range cs {
		select {
		case <-c.done:
		case <-deadline:
			var got []int64
			for _, c := range cs {
				got = append(got, c.n.Load())
			}
			return fmt.Errorf("lost messages: after %v received %v of %d each", timeout, got, cs[0].target.Load())
		}
	}
	return nil
}

// session holds a run's connections and closes them all.
type session struct {
	b     broker
	conns []client
}

func (s *session) connect(o connOpts) (client, error) {
	c, err := s.b.connect(o)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	s.conns = append(s.conns, c)
	return c, nil
}

func (s *session) asyncErr() error {
	for _, c := range s.conns {
		if err := c.asyncErr(); err != nil {
			return fmt.Errorf("async error: %w", err)
		}
	}
	return nil
}

func (s *session) close() {
	for _, c := range s.conns {
		c.close()
	}
}

func ctxTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// runPub: one publisher, no subscribers; counted once the server has
// processed everything (Flush).
func runPub(b broker, cfg config, size int) (map[string]float64, error) {
	s := &session{b: b}
	defer s.close()
	pub, err := s.connect(connOpts{})
	if err != nil {
		return nil, err
	}
	n, start, err := publishFor(pub, "bench.pub", make([]byte, size), cfg, nil, 0)
	if err != nil {
		return nil, err
	}
	ctx, cancel := ctxTimeout(drainTimeout)
	defer cancel()
	if err := pub.flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	el := time.Since(start).Seconds()
	if err := s.asyncErr(); err != nil {
		return nil, err
	}
	return map[string]float64{mMsgs: float64(n) / el}, nil
}

// shape describes a delivery run: how many receivers, and whether they
// form one queue group.
type shape struct {
	subs   int
	group  bool
	policy groupPolicy
}

// runDelivery: one publisher to subs receivers, each on its own
// connection; rates are measured from the first publish to the last
// message received.
func runDelivery(b broker, cfg config, size int, sh shape) (map[string]float64, error) {
	s := &session{b: b}
	defer s.close()
	subject := "bench.delivery"
	var counters []*counter
	shared := newCounter() // the whole group's count
	if sh.group {
		counters = []*counter{shared}
	}
	for i := range sh.subs {
		// For the nearest policy: two members near the publisher (Frankfurt),
		// two far (New York); the nearest two share by load.
		o := connOpts{hasLoc: sh.policy == policyNearest, lat: 50.11, lon: 8.68}
		if i%2 == 1 {
			o.lat, o.lon = 40.71, -74.01
		}
		cl, err := s.connect(o)
		if err != nil {
			return nil, err
		}
		if sh.group {
			err = cl.queueSubscribe(subject, "workers", sh.policy, shared.inc)
		} else {
			c := newCounter()
			counters = append(counters, c)
			err = cl.subscribe(subject, c.inc)
		}
		if err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
	}
	pub, err := s.connect(connOpts{hasLoc: sh.policy == policyNearest, lat: 48.86, lon: 2.35}) // Paris
	if err != nil {
		return nil, err
	}
	received := func() int64 {
		m := counters[0].n.Load()
		for _, c := range counters[1:] {
			m = min(m, c.n.Load())
		}
		return m
	}
	n, start, err := publishFor(pub, subject, make([]byte, size), cfg, received, window(size))
	if err != nil {
		return nil, errors.Join(err, s.asyncErr())
	}
	ctx, cancel := ctxTimeout(drainTimeout)
	defer cancel()
	if err := pub.flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	for _, c := range counters {
		c.expect(n)
	}
	if err := waitAll(counters, drainTimeout); err != nil {
		return nil, errors.Join(err, s.asyncErr())
	}
	if err := s.asyncErr(); err != nil {
		return nil, err
	}
	var per, last float64
	for _, c := range counters {
		el := float64(c.end.Load()-start.UnixNano()) / 1e9
		per += float64(n) / el
		last = max(last, el)
	}
	per /= float64(len(counters))
	total := float64(n*int64(len(counters))) / last
	return map[string]float64{
		mMsgs: per, mPerSub: per, mTotal: total, mMBs: per * float64(size) / 1e6,
	}, nil
}
