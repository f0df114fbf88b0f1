package ferry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// maxFrame bounds the frames the client reads: above the largest payload a
// server may allow (64 MiB) plus headers and envelope.
const maxFrame = 80 << 20

// maxPingsOut is how many keep-alive pings may go unanswered before the
// connection counts as lost.
const maxPingsOut = 2

// errStale reports a connection that stopped answering keep-alive pings.
var errStale = errors.New("ferry: server stopped answering PING")

// Conn is a connection to a broker, identified as one endpoint. A Conn is
// safe for concurrent use.
type Conn struct {
	// Goroutines: run (reads frames, reconnects), flusher (writes), events
	// (user callbacks), one per subscription (delivery), one per stream
	// HandleStreams accepted, and a timer for keep-alive pings. Lock order:
	// metaMu, then mu, then w.mu; a flow's mu, then streamMu, then w.mu.
	opts options
	url  string // canonical ferry://host:port
	addr string // host:port to dial
	id   string // endpoint ID; the same across reconnects
	log  *slog.Logger

	w   *writer
	ev  *events
	req requests

	ctx         context.Context // canceled by Close: stops dialing, backoff, the flusher
	cancel      context.CancelFunc
	flusherDone chan struct{}

	mu       sync.RWMutex // guards subs and draining; taken before w.mu
	subs     map[uint64]*Subscription
	draining bool

	refMu sync.Mutex // guards refs
	refs  map[uint64]chan refResult

	groups map[string]struct{} // multicast groups joined; guarded by mu, re-joined on reconnect

	streamMu   sync.Mutex       // guards streams; taken after a flow's mu, before w.mu
	streams    map[uint64]*flow // open streams and channels, by this side's stream ID
	nextStream atomic.Uint64    // streams opened so far; the n-th has ID 2n-1

	metaMu  sync.Mutex   // guards meta and metaGen; taken before mu
	meta    endpointMeta // region, labels and location as last set; a reconnect's CONNECT carries them
	metaGen uint64       // bumped by every change of meta

	pingTimer *time.Timer // keep-alive; guarded by w.mu

	nextSID  atomic.Uint64
	nextRef  atomic.Uint64
	active   atomic.Bool  // a frame arrived since the last ping tick
	pingsOut atomic.Int32 // keep-alive pings unanswered
	stale    atomic.Bool  // pingTick closed the socket for missing PONGs
}

// refResult answers a frame sent with a Ref: OK's count, RESULT's body,
// or an error.
type refResult struct {
	count uint64
	seq   uint64 // OK.seq: the position a durable publish got in its log
	body  []byte
	err   error
}

// session is one established TCP connection after the handshake.
type session struct {
	nc   net.Conn
	r    *wire.Reader
	info wire.Info
}

// Connect dials url ("ferry://host:port", "tcp://host:port" or "host:port";
// empty means DefaultURL) and performs the handshake.
//
// A refusal by the server is returned as a *ServerError, which matches its
// sentinel: errors.Is(err, ErrIDInUse).
func Connect(url string, opts ...Option) (*Conn, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	o.normalize()
	addr, canonical, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := dial(ctx, addr, &o, o.id)
	if err != nil {
		cancel()
		return nil, err
	}
	c := &Conn{
		opts: o, url: canonical, addr: addr, id: s.info.ID, log: o.logger,
		w:   newWriter(o.reconnectBuf),
		ev:  newEvents(),
		ctx: ctx, cancel: cancel, flusherDone: make(chan struct{}),
		subs:    map[uint64]*Subscription{},
		refs:    map[uint64]chan refResult{},
		groups:  map[string]struct{}{},
		streams: map[uint64]*flow{},
		meta:    metaFromOptions(&o),
	}
	c.w.nc = s.nc
	c.w.setLimits(&s.info)
	c.log.Info("ferry: connected", "url", canonical, "id", c.id, "server", s.info.Server)
	go c.run(s)
	go c.flusher()
	go c.ev.loop()
	if o.pingInterval > 0 {
		c.w.mu.Lock()
		c.pingTimer = time.AfterFunc(o.pingInterval, c.pingTick)
		c.w.mu.Unlock()
	}
	return c, nil
}

// normalize replaces unusable option values with defaults.
func (o *options) normalize() {
	d := defaultOptions()
	if o.dialTimeout <= 0 {
		o.dialTimeout = d.dialTimeout
	}
	if o.reconnectMin <= 0 {
		o.reconnectMin = d.reconnectMin
	}
	if o.reconnectMax < o.reconnectMin {
		o.reconnectMax = o.reconnectMin
	}
	if o.reconnectBuf < 0 {
		o.reconnectBuf = 0
	}
	if o.subPending <= 0 {
		o.subPending = d.subPending
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
}

func (w *writer) setLimits(info *wire.Info) {
	w.maxPayload = int(min(info.MaxPayload, 1<<40))
	w.maxHeaders = int(min(info.MaxHeaders, 1<<40))
}

// dial connects to addr and performs the handshake asking for id, within
// the dial timeout.
func dial(ctx context.Context, addr string, o *options, id string) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, o.dialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ferry: dial %s: %w", addr, err)
	}
	s, err := handshake(ctx, nc, o, id)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

// handshake sends CONNECT and reads INFO or ERR. A refusal is returned as
// a *ServerError.
func handshake(ctx context.Context, nc net.Conn, o *options, id string) (*session, error) {
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := nc.Write(connectFrame(o, id).Append(nil)); err != nil {
		return nil, fmt.Errorf("ferry: handshake: %w", err)
	}
	s := &session{nc: nc, r: wire.NewReader(nc, maxFrame)}
	op, body, err := s.r.Next()
	if err != nil {
		return nil, fmt.Errorf("ferry: handshake: %w", err)
	}
	switch op {
	case wire.OpInfo:
		if err := s.info.Decode(body); err != nil {
			return nil, fmt.Errorf("%w: handshake: %w", ErrProtocol, err)
		}
	case wire.OpErr:
		var e wire.Err
		if err := e.Decode(body); err != nil {
			return nil, fmt.Errorf("%w: handshake: %w", ErrProtocol, err)
		}
		return nil, &ServerError{Code: uint16(e.Code), Message: e.Message}
	default:
		return nil, fmt.Errorf("%w: handshake: server sent %v before INFO", ErrProtocol, op)
	}
	if s.info.ID == "" || (id != "" && s.info.ID != id) {
		return nil, fmt.Errorf("%w: handshake: asked for endpoint ID %q, got %q", ErrProtocol, id, s.info.ID)
	}
	if !stop() {
		return nil, fmt.Errorf("ferry: handshake: %w", ctx.Err())
	}
	nc.SetDeadline(time.Time{})
	return s, nil
}

func connectFrame(o *options, id string) *wire.Connect {
	cf := &wire.Connect{
		Version: wire.Version, ID: id, Name: o.name, Region: o.region,
		HasLocation: o.hasLocation, Lat: o.lat, Lon: o.lon, Token: o.token,
	}
	for k, v := range o.labels {
		cf.Labels = append(cf.Labels, wire.Label{Key: k, Value: v})
	}
	slices.SortFunc(cf.Labels, func(a, b wire.Label) int { return strings.Compare(a.Key, b.Key) })
	return cf
}

// ID returns the endpoint ID this connection holds.
func (c *Conn) ID() string { return c.id }

// ServerURL returns the URL the connection dialled, as "ferry://host:port".
func (c *Conn) ServerURL() string { return c.url }

// Close closes the connection at once: what is already queued is written
// (bounded by the dial timeout), pending handlers are abandoned, and calls
// waiting for the server fail with ErrClosed. Every later call on the Conn
// but Close returns ErrClosed. Close is idempotent and returns nil.
func (c *Conn) Close() error {
	c.shutdown(nil)
	return nil
}

// IsClosed reports whether the connection was closed (by Close, Drain, or
// after reconnecting was given up).
func (c *Conn) IsClosed() bool {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.state == stateDone
}

// shutdown closes the connection; cause, if any, is reported to the error
// handler. It reports false when the Conn was already closed. It waits for
// the flusher only, so it may run on any goroutine but the flusher's.
func (c *Conn) shutdown(cause error) bool {
	c.mu.Lock()
	c.w.mu.Lock()
	if c.w.state == stateDone {
		c.w.mu.Unlock()
		c.mu.Unlock()
		return false
	}
	c.w.state = stateDone
	c.w.wakeWaiters()
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.w.failPongs(ErrClosed)
	if c.w.nc != nil {
		// Bound the flusher's last writes: Close must not hang on a stuck peer.
		c.w.nc.SetWriteDeadline(time.Now().Add(c.opts.dialTimeout))
	}
	c.w.mu.Unlock()
	subs := c.subs
	c.subs = map[uint64]*Subscription{}
	c.mu.Unlock()

	c.cancel()
	c.failRefs(ErrClosed)
	c.failStreams(ErrClosed)
	for _, s := range subs {
		s.stop()
	}
	<-c.flusherDone
	if cause != nil {
		c.reportErr(cause)
	}
	c.setState(StateClosed)
	c.ev.close()
	c.log.Info("ferry: closed", "id", c.id)
	return true
}

// reportErr passes an asynchronous error to the error handler.
func (c *Conn) reportErr(err error) {
	c.log.Warn("ferry: async error", "id", c.id, "err", err)
	if fn := c.opts.errorHandler; fn != nil {
		c.ev.push(func() { fn(err) })
	}
}

// setState reports a state change to the state handler.
func (c *Conn) setState(s State) {
	if fn := c.opts.stateHandler; fn != nil {
		c.ev.push(func() { fn(s) })
	}
}

// pingTick runs every ping interval: an idle connection gets a PING, and
// one whose pings went unanswered maxPingsOut times is closed (the read
// loop then reconnects). It runs on a timer, not on the flusher, so that a
// write stuck on a dead peer is cut too.
func (c *Conn) pingTick() {
	switch {
	case c.active.Swap(false):
		c.pingsOut.Store(0)
	case c.pingsOut.Add(1) <= maxPingsOut:
		c.w.appendPing(nil)
	default:
		c.w.mu.Lock()
		nc := c.w.nc
		c.w.mu.Unlock()
		if nc != nil {
			c.stale.Store(true)
			nc.Close()
		}
	}
	c.w.mu.Lock()
	if c.w.state != stateDone {
		c.pingTimer.Reset(c.opts.pingInterval)
	}
	c.w.mu.Unlock()
}

// isServerErr reports whether err came from an ERR frame.
func isServerErr(err error) bool {
	var se *ServerError
	return errors.As(err, &se)
}
