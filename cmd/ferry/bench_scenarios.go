package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry"
)

// benchConfig is what one scenario run needs from the command line.
type benchConfig struct {
	msgs     int64         // messages to send in all; 0: run for duration
	duration time.Duration // how long to publish when msgs is 0
	timeout  time.Duration // bound on the whole run
	size     int           // payload bytes
	pubs     int
	subs     int
	subject  string
	policy   ferry.Policy // anycast
	rate     float64      // messages per second per publisher; 0: as fast as possible
	lossy    bool         // publish unpaced; losses are not an error
}

// benchStallTimeout ends the wait for deliveries when none arrived for so long.
const benchStallTimeout = 5 * time.Second

// benchScenario describes one benchmark by how it receives and publishes;
// runScenario supplies the rest: connections, the publishing loop, pacing,
// waiting for deliveries, results.
type benchScenario struct {
	name   string
	about  string
	subs   int  // default number of receivers; 0: none
	each   bool // every receiver gets every message, else they share them
	paced  bool // publishers wait while a window of messages is undelivered
	onePub bool // always one publisher, whatever --pubs says
	// receive sets up one receiver on its own connection.
	receive func(ctx context.Context, r *benchRun, nc *ferry.Conn) error
	// publisher prepares one publisher on its own connection.
	publisher func(ctx context.Context, r *benchRun, nc *ferry.Conn) (benchSender, error)
}

// benchSender sends one message; finish (optional) ends the publisher's work,
// e.g. flushes or closes its stream.
type benchSender struct {
	send   func(ctx context.Context, m *ferry.Msg) error
	finish func(ctx context.Context) error
}

// publishSender publishes with PublishMsg to t and flushes at the end.
func publishSender(nc *ferry.Conn, t ferry.Target) benchSender {
	return benchSender{
		send: func(_ context.Context, m *ferry.Msg) error {
			m.Target = t
			return nc.PublishMsg(m)
		},
		finish: nc.Flush,
	}
}

// subscribeWith returns a receive function subscribing with sub
// ((*ferry.Conn).Subscribe or Handle). Under --lossy the server drops
// rather than cutting the connection as a slow consumer.
func subscribeWith(sub func(*ferry.Conn, string, func(*ferry.Msg), ...ferry.SubOption) (*ferry.Subscription, error)) func(context.Context, *benchRun, *ferry.Conn) error {
	return func(_ context.Context, r *benchRun, nc *ferry.Conn) error {
		var opts []ferry.SubOption
		if r.cfg.lossy {
			opts = append(opts, ferry.WithBackpressure(ferry.BackpressureDropNewest, 0))
		}
		rec := r.addRecorder()
		s, err := sub(nc, r.cfg.subject, rec.message, opts...)
		r.track(s)
		return err
	}
}

func topicPublisher(_ context.Context, _ *benchRun, nc *ferry.Conn) (benchSender, error) {
	return publishSender(nc, ferry.Target{}), nil
}

var benchScenarios = []*benchScenario{
	{
		name: "pub", about: "publishers only, nobody subscribed: the broker's intake",
		publisher: topicPublisher,
	},
	{
		name: "pubsub", about: "--pubs publishers and --subs subscribers on one subject (1 → 1 by default)",
		subs: 1, each: true, paced: true, receive: subscribeWith((*ferry.Conn).Subscribe), publisher: topicPublisher,
	},
	{
		name: "fanout", about: "one publisher, --subs subscribers (4 by default), each gets every message",
		subs: 4, each: true, paced: true, onePub: true, receive: subscribeWith((*ferry.Conn).Subscribe), publisher: topicPublisher,
	},
	{
		name: "anycast", about: "publishes to an anycast target (--policy); each message reaches one of --subs endpoints",
		subs: 4, paced: true, receive: subscribeWith((*ferry.Conn).Handle),
		publisher: func(_ context.Context, r *benchRun, nc *ferry.Conn) (benchSender, error) {
			return publishSender(nc, ferry.Anycast(r.cfg.policy)), nil
		},
	},
	{
		name: "reqrep", about: "each publisher sends requests one at a time to a group of --subs responders; latency is the round trip",
		subs: 1, receive: func(_ context.Context, r *benchRun, nc *ferry.Conn) error {
			s, err := nc.Respond(r.cfg.subject, func(m *ferry.Msg) []byte {
				if m.Data == nil {
					return []byte{} // nil would decline
				}
				return m.Data
			}, ferry.InGroup("bench"))
			r.track(s)
			return err
		},
		publisher: func(_ context.Context, r *benchRun, nc *ferry.Conn) (benchSender, error) {
			rec := r.addRecorder()
			return benchSender{send: func(ctx context.Context, m *ferry.Msg) error {
				t0 := time.Now()
				if _, err := nc.RequestMsg(ctx, m); err != nil {
					return err
				}
				now := time.Now()
				rec.record(now, now.Sub(t0))
				return nil
			}}, nil
		},
	},
	{
		name: "stream", about: "each publisher opens a credit-paced stream to every one of --subs receivers",
		subs: 1, each: true, receive: streamReceiver,
		publisher: func(ctx context.Context, r *benchRun, nc *ferry.Conn) (benchSender, error) {
			st, err := nc.OpenStream(ctx, r.cfg.subject, ferry.Target{})
			if err != nil {
				return benchSender{}, err
			}
			if st.Receivers() != r.cfg.subs {
				_ = st.Abort("bench: wrong receiver count")
				return benchSender{}, fmt.Errorf("stream reached %d receivers, want %d", st.Receivers(), r.cfg.subs)
			}
			return benchSender{send: st.SendMsg, finish: func(context.Context) error { return st.Close() }}, nil
		},
	},
}

// streamReceiver accepts streams and records every message until each ends.
func streamReceiver(ctx context.Context, r *benchRun, nc *ferry.Conn) error {
	rec := r.addRecorder()
	s, err := nc.HandleStreams(r.cfg.subject, func(s *ferry.IncomingStream) {
		defer func() { r.dropped.Add(int64(s.Dropped())) }()
		for {
			m, err := s.Recv(ctx)
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					r.warn(fmt.Errorf("stream from %s: %w", s.From(), err))
				}
				return
			}
			rec.message(m)
		}
	})
	r.track(s)
	return err
}

func findBenchScenario(name string) *benchScenario {
	for _, s := range benchScenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

// benchRun is one run of a scenario.
type benchRun struct {
	sc      *benchScenario
	cfg     benchConfig
	connect func(role string, i int) (*ferry.Conn, error)
	warn    func(error)

	mu    sync.Mutex // guards conns, recs, subs
	conns []*ferry.Conn
	recs  []*benchRecorder // counting deliveries: receivers, or requesters for reqrep
	subs  []*ferry.Subscription

	sent    atomic.Int64
	dropped atomic.Int64 // reported by streams
}

func (r *benchRun) addRecorder() *benchRecorder {
	rec := newBenchRecorder()
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return rec
}

func (r *benchRun) track(s *ferry.Subscription) {
	if s == nil {
		return
	}
	r.mu.Lock()
	r.subs = append(r.subs, s)
	r.mu.Unlock()
}

func (r *benchRun) dial(role string, i int) (*ferry.Conn, error) {
	nc, err := r.connect(role, i)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.conns = append(r.conns, nc)
	r.mu.Unlock()
	return nc, nil
}

func (r *benchRun) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, nc := range r.conns {
		nc.Close()
	}
}

// received returns the deliveries counted so far, in all and per receiver.
func (r *benchRun) received() (total int64, each []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	each = make([]int64, len(r.recs))
	for i, rec := range r.recs {
		each[i] = rec.n.Load()
		total += each[i]
	}
	return total, each
}

// delivered returns how many of the sent messages have fully arrived: for
// each-gets-all scenarios what the slowest receiver got, else the sum.
func (r *benchRun) delivered() int64 {
	total, each := r.received()
	if !r.sc.each || len(each) == 0 {
		return total
	}
	return benchMin(each)
}

func benchMin(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = min(m, x)
	}
	return m
}

// benchWindow is how many messages a paced publisher lets run ahead of
// the deliveries: about 1 MiB of payload, within [256, 10000]. Larger
// windows add queueing latency without adding throughput.
func benchWindow(size int) int64 { return min(max(int64(1<<20)/int64(max(size, 1)), 256), 10_000) }

// runScenario runs r's scenario once and returns its result. A progress
// line is drawn on progressTo unless it is nil.
func runScenario(ctx context.Context, r *benchRun, progressTo io.Writer) (*benchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
	defer cancel()
	defer r.close()
	res := &benchResult{Started: time.Now(), Scenario: r.sc.name, Subject: r.cfg.subject, Pubs: r.cfg.pubs,
		Size: r.cfg.size, Lossy: r.cfg.lossy}
	if r.sc.receive != nil {
		res.Subs = r.cfg.subs
		for i := range r.cfg.subs {
			nc, err := r.dial("sub", i)
			if err != nil {
				return nil, err
			}
			if err := r.sc.receive(ctx, r, nc); err != nil {
				return nil, fmt.Errorf("receiver %d: %w", i+1, err)
			}
		}
	}
	senders := make([]benchSender, r.cfg.pubs)
	for i := range senders {
		nc, err := r.dial("pub", i)
		if err != nil {
			return nil, err
		}
		if senders[i], err = r.sc.publisher(ctx, r, nc); err != nil {
			return nil, fmt.Errorf("publisher %d: %w", i+1, err)
		}
	}

	prog := startProgress(progressTo, r.sc.name, r.cfg.msgs, r.cfg.duration, r.sent.Load)
	defer prog.Stop()
	start := time.Now()
	until := start.Add(r.cfg.duration)
	pubCtx, stopPubs := context.WithCancel(ctx) // the first failure stops the others
	defer stopPubs()
	errs := make(chan error, len(senders))
	for i, s := range senders {
		quota := r.cfg.msgs / int64(len(senders))
		if int64(i) < r.cfg.msgs%int64(len(senders)) {
			quota++
		}
		go func() {
			err := r.publish(pubCtx, s, quota, until)
			if err != nil {
				stopPubs()
			}
			errs <- err
		}()
	}
	var errList []error
	for range senders {
		errList = append(errList, <-errs)
	}
	err := firstBenchError(errList)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("gave up after %v (--timeout): %w", r.cfg.timeout, err)
	}
	if err != nil {
		return nil, err
	}
	end := time.Now()
	res.Sent = r.sent.Load()
	if len(r.recs) > 0 {
		res.Expected = res.Sent
		if r.sc.each {
			res.Expected *= int64(len(r.recs))
		}
		if !r.drain(ctx, res.Expected) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.warn(fmt.Errorf("stopped waiting for deliveries after %v (--timeout)", r.cfg.timeout))
		}
		last := start.UnixNano()
		for _, rec := range r.recs {
			last = max(last, rec.last.Load())
		}
		end = time.Unix(0, last)
	}
	prog.Stop()
	return r.finish(res, end.Sub(start)), nil
}

// firstBenchError returns the first non-nil error in errs, preferring one
// that is not context.Canceled: a failing publisher cancels the others, whose
// context.Canceled may arrive before the failure that caused it.
func firstBenchError(errs []error) error {
	var canceled error
	for _, err := range errs {
		switch {
		case err == nil:
		case !errors.Is(err, context.Canceled):
			return err
		case canceled == nil:
			canceled = err
		}
	}
	return canceled
}

// finish fills in counts, rates and latencies.
func (r *benchRun) finish(res *benchResult, elapsed time.Duration) *benchResult {
	res.Received, res.ReceivedBy = r.received()
	res.Lost = max(res.Expected-res.Received, 0)
	res.Dropped = r.dropped.Load()
	for _, s := range r.subs {
		res.Dropped += int64(s.Dropped())
	}
	if res.Seconds = elapsed.Seconds(); res.Seconds > 0 {
		res.MsgsPerSec = float64(res.Sent) / res.Seconds
		res.DeliveriesPerSec = float64(res.Received) / res.Seconds
		res.MBPerSec = res.MsgsPerSec * float64(res.Size) / 1e6
	}
	res.Latency = benchSummary(mergeBenchHistograms(r.recs))
	return res
}

// publish sends quota messages (or, for quota 0, until until) with s. At
// a fixed --rate each message is stamped with the time it was due, so a
// publisher falling behind shows in the latencies.
func (r *benchRun) publish(ctx context.Context, s benchSender, quota int64, until time.Time) error {
	start := time.Now()
	m := &ferry.Msg{Subject: r.cfg.subject, Data: make([]byte, r.cfg.size)}
	paced := r.sc.paced && !r.cfg.lossy
	win := benchWindow(r.cfg.size)
	for n := int64(0); quota == 0 || n < quota; n++ {
		if n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("after %d messages: %w", n, err)
			}
			if paced {
				if err := r.waitWindow(ctx, win); err != nil {
					return err
				}
			}
		}
		now := time.Now()
		if r.cfg.rate > 0 {
			due := start.Add(time.Duration(float64(n) / r.cfg.rate * 1e9))
			if wait := due.Sub(now); wait > 0 {
				if err := benchSleep(ctx, wait); err != nil {
					return fmt.Errorf("after %d messages: %w", n, err)
				}
			}
			now = due
		}
		if quota == 0 && !now.Before(until) {
			break
		}
		benchStamp(m, now)
		if err := s.send(ctx, m); err != nil {
			return fmt.Errorf("message %d: %w", n+1, err)
		}
		r.sent.Add(1)
	}
	if s.finish != nil {
		return s.finish(ctx)
	}
	return nil
}

// waitWindow waits while win or more sent messages are not yet delivered.
func (r *benchRun) waitWindow(ctx context.Context, win int64) error {
	last, since := r.delivered(), time.Now()
	for r.sent.Load()-last >= win {
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(50 * time.Microsecond) // a cheap poll: pacing must not cost a wakeup per message
		if d := r.delivered(); d != last {
			last, since = d, time.Now()
		} else if time.Since(since) > benchStallTimeout {
			return fmt.Errorf("stalled: %d sent, %d delivered, nothing for %v", r.sent.Load(), d, benchStallTimeout)
		}
	}
	return nil
}

// drain waits until the receivers have expected messages (and returns
// true), nothing arrived for benchStallTimeout, or ctx ends.
func (r *benchRun) drain(ctx context.Context, expected int64) bool {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	last, _ := r.received()
	since := time.Now()
	for last < expected {
		select {
		case <-ctx.Done():
			return false
		case now := <-t.C:
			if n, _ := r.received(); n != last {
				last, since = n, now
			} else if now.Sub(since) > benchStallTimeout {
				return false
			}
		}
	}
	return true
}

// benchSleep waits for d or until ctx ends.
func benchSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
