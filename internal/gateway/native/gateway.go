package native

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/metrics"
	"github.com/ferrymq/ferry/internal/stream"
	"github.com/ferrymq/ferry/internal/wire"
)

// Config configures a Gateway; every field must be set (the server fills
// defaults).
type Config struct {
	ServerName       string
	MaxPayload       int
	MaxHeaders       int
	MaxPending       int
	MaxConns         int
	HandshakeTimeout time.Duration
	WriteTimeout     time.Duration
	PingInterval     time.Duration
	MaxPingsOut      int
	Logger           *slog.Logger
	// Logs answers LOG frames; nil answers them with CodeNotSupported.
	Logs Logs
	// Metrics records request latency; nil records nothing.
	Metrics *metrics.Set
}

// frameOverhead is what a PUB frame may carry beyond payload and headers:
// subject, reply, target fields and varints.
const frameOverhead = 16 << 10

// Gateway serves the native protocol on a listener.
type Gateway struct {
	cfg    Config
	broker *broker.Broker
	log    *slog.Logger

	mu       sync.Mutex // guards conns, ln, closing
	conns    map[*conn]struct{}
	ln       net.Listener
	closing  bool
	wg       sync.WaitGroup // one per live connection goroutine and the accept loop
	maxFrame int
	dropped  [numDropReasons]atomic.Uint64 // messages dropped, by dropReason
	requests *requestTimes                 // nil without Config.Metrics
}

// New returns a gateway onto b.
func New(b *broker.Broker, cfg Config) *Gateway {
	return &Gateway{
		cfg:      cfg,
		broker:   b,
		log:      cfg.Logger,
		conns:    make(map[*conn]struct{}),
		maxFrame: cfg.MaxPayload + cfg.MaxHeaders + frameOverhead,
		requests: newRequestTimes(cfg.Metrics),
	}
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise.
func (g *Gateway) Serve(ln net.Listener) error {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		ln.Close()
		return nil
	}
	g.ln = ln
	g.wg.Add(1)
	g.mu.Unlock()
	defer g.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if g.isClosing() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay) // back off on resource exhaustion (EMFILE)
				continue
			}
			return fmt.Errorf("native: accept: %w", err)
		}
		delay = 0
		g.accept(nc)
	}
}

func (g *Gateway) isClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

func (g *Gateway) accept(nc net.Conn) {
	c := newConn(g, nc)
	g.mu.Lock()
	if g.closing || len(g.conns) >= g.cfg.MaxConns {
		full := !g.closing
		g.mu.Unlock()
		if full {
			c.refuse(wire.CodeTooManyConns, fmt.Sprintf("connection limit reached: limit is %d", g.cfg.MaxConns))
		}
		nc.Close()
		return
	}
	g.conns[c] = struct{}{}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		c.serve()
		g.mu.Lock()
		delete(g.conns, c)
		g.mu.Unlock()
	}()
}

// Why the gateway dropped a message it was to deliver, as DroppedBy names
// them: a lossy stream's frame that found the connection at max_pending,
// or a subscription's backpressure policy.
const (
	dropMaxPending = iota
	dropNewest
	dropOldest
	dropLatestPerKey
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"max-pending", "drop-newest", "drop-oldest", "latest-per-key"}

// dropReason is the reason a queue with policy p drops for.
func dropReason(p stream.Policy) int {
	switch p {
	case stream.DropNewest:
		return dropNewest
	case stream.LatestPerKey:
		return dropLatestPerKey
	}
	return dropOldest
}

// Dropped returns the number of messages dropped so far by subscriptions'
// backpressure policies (drop-newest, drop-oldest, latest-per-key) and by
// lossy streams, on all connections.
func (g *Gateway) Dropped() uint64 {
	var n uint64
	for i := range g.dropped {
		n += g.dropped[i].Load()
	}
	return n
}

// DroppedBy returns Dropped split by reason: "max-pending", "drop-newest",
// "drop-oldest" and "latest-per-key", every one present.
func (g *Gateway) DroppedBy() map[string]uint64 {
	m := make(map[string]uint64, numDropReasons)
	for i, name := range dropReasonNames {
		m[name] = g.dropped[i].Load()
	}
	return m
}

// NumConns returns the number of live connections.
func (g *Gateway) NumConns() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Shutdown stops accepting, tells every client the server is going away,
// flushes what is pending to each, and closes them. When ctx ends first the
// remaining connections are closed at once and ctx's error is returned.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	if g.ln != nil {
		g.ln.Close()
	}
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.drain(wire.CodeShutdown, "server shutting down")
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.nc.Close()
		}
		<-done
		return ctx.Err()
	}
}
