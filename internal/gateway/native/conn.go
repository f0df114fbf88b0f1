package native

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

// conn is one client connection: a read loop (the goroutine running serve)
// and a flusher goroutine that writes the outbound buffer.
type conn struct {
	g  *Gateway
	nc net.Conn
	rd stampedReader // nc, noting when each read returned
	r  *wire.Reader  // frames from rd
	ep *broker.Endpoint
	id []byte // endpoint ID, the From of every message this conn publishes

	mu          sync.Mutex // guards out, spare, smallWrites, pending, peak, outMsgs, closed, draining, pingTimer and the backpressure fields below
	out         []byte     // frames waiting for the flusher
	spare       []byte     // the flusher's last buffer, reused for out
	smallWrites int        // writes in a row much smaller than a big spare (keepSpare)
	pending     int        // bytes queued (in out, being written, or held) and not yet written
	writing     int        // bytes of pending inside the socket write in progress
	peak        int        // the most pending-writing has ever been
	outMsgs     int        // messages in out
	closed      bool       // no more frames are accepted
	draining    bool       // closed, but the flusher writes what is queued first

	// Backpressure policies (backpressure.go). subq is nil while the
	// connection has no subscription with a policy, so the default path
	// costs one nil check.
	subq     map[uint64]*subQueue    // by SID
	heldMsgs int                     // messages waiting in subq's queues
	room     chan struct{}           // closed to wake publishers waiting on a Block subscription; nil when none wait
	hdr      []byte                  // scratch header block carrying Ferry-Dropped
	streamq  map[uint64]*streamQueue // lossy streams opened to this connection, by stream ID (stream_lossy.go)

	// ctx ends when the connection does; LOG fetches waiting on their own
	// goroutines watch it.
	ctx    context.Context
	cancel context.CancelFunc

	kick      chan struct{} // wakes the flusher; capacity 1
	flushDone chan struct{} // closed when the flusher has exited

	active    atomic.Bool // a frame arrived since the last ping tick
	pingsOut  int         // unanswered ping ticks; owned by the ping timer
	pingTimer *time.Timer

	// Decoding scratch, owned by the read loop, kept here so the message
	// path does not allocate.
	pub   wire.Pub
	sub   wire.Sub
	sdata wire.StreamData
	msg   broker.Message
}

func newConn(g *Gateway, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		ctx:       ctx,
		cancel:    cancel,
		g:         g,
		nc:        nc,
		rd:        stampedReader{r: nc},
		kick:      make(chan struct{}, 1),
		flushDone: make(chan struct{}),
	}
	c.r = wire.NewReader(&c.rd, g.maxFrame)
	return c
}

// serve runs the connection to its end and unregisters its endpoint.
func (c *conn) serve() {
	if err := c.handshake(); err != nil {
		c.cancel()
		c.g.log.Debug("handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
		c.nc.Close()
		return
	}
	go c.flushLoop()
	c.mu.Lock()
	c.pingTimer = time.AfterFunc(c.g.cfg.PingInterval, c.pingTick)
	c.mu.Unlock()
	err := c.readLoop()
	c.cancel()
	c.close()
	<-c.flushDone
	c.mu.Lock()
	c.pingTimer.Stop()
	c.mu.Unlock()
	c.g.broker.Disconnect(c.ep)
	c.g.log.Debug("connection closed", "id", c.ep.ID(), "err", err)
}

// handshake reads CONNECT within the handshake deadline, registers the
// endpoint and answers INFO, or answers ERR and fails.
func (c *conn) handshake() error {
	c.nc.SetReadDeadline(time.Now().Add(c.g.cfg.HandshakeTimeout))
	op, body, err := c.r.Next()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.refuse(wire.CodeHandshake, fmt.Sprintf("no CONNECT within the handshake deadline of %v", c.g.cfg.HandshakeTimeout))
		} else if errors.Is(err, wire.ErrTooLarge) || errors.Is(err, wire.ErrMalformed) {
			c.refuse(wire.CodeProtocol, err.Error())
		}
		return err
	}
	if op != wire.OpConnect {
		c.refuse(wire.CodeHandshake, fmt.Sprintf("first frame must be CONNECT, got %v", op))
		return fmt.Errorf("handshake: got %v", op)
	}
	var cn wire.Connect
	if err := cn.Decode(body); err != nil {
		c.refuse(wire.CodeProtocol, err.Error())
		return err
	}
	if cn.Version != wire.Version {
		c.refuse(wire.CodeVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks version %d", cn.Version, wire.Version))
		return fmt.Errorf("handshake: version %d", cn.Version)
	}
	ep, err := c.g.broker.Connect(endpointInfo(&cn), c)
	if err != nil {
		c.refuse(codeFor(err), err.Error())
		return err
	}
	c.mu.Lock() // for observers that find the conn through Gateway.conns
	c.ep, c.id = ep, []byte(ep.ID())
	c.mu.Unlock()
	c.nc.SetReadDeadline(time.Time{})
	info := wire.Info{
		Version: wire.Version, Server: c.g.cfg.ServerName, ID: ep.ID(),
		MaxPayload: uint64(c.g.cfg.MaxPayload), MaxHeaders: uint64(c.g.cfg.MaxHeaders),
		PingMillis: uint64(c.g.cfg.PingInterval / time.Millisecond),
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout))
	if _, err := c.nc.Write(info.Append(nil)); err != nil {
		c.g.broker.Disconnect(ep)
		return err
	}
	return nil
}

func endpointInfo(cn *wire.Connect) broker.EndpointInfo {
	info := broker.EndpointInfo{
		ID: cn.ID, Name: cn.Name, Region: cn.Region,
		HasLocation: cn.HasLocation, Lat: cn.Lat, Lon: cn.Lon,
	}
	if len(cn.Labels) > 0 {
		info.Labels = make(map[string]string, len(cn.Labels))
		for _, l := range cn.Labels {
			info.Labels[l.Key] = l.Value
		}
	}
	return info
}

// refuse writes a single ERR frame during the handshake, before the
// flusher runs.
func (c *conn) refuse(code wire.Code, msg string) {
	e := wire.Err{Code: code, Message: msg}
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.nc.Write(e.Append(nil))
}

// readLoop reads and dispatches frames until the connection ends. Framing
// errors are answered with ERR and end the connection.
func (c *conn) readLoop() error {
	for {
		op, body, err := c.r.Next()
		if err != nil {
			switch {
			case errors.Is(err, wire.ErrTooLarge):
				c.drain(wire.CodeFrameTooLarge, err.Error())
			case errors.Is(err, wire.ErrMalformed):
				c.drain(wire.CodeProtocol, err.Error())
			}
			return err
		}
		if !c.active.Load() {
			c.active.Store(true)
		}
		if err := c.dispatch(op, body); err != nil {
			c.drain(wire.CodeProtocol, err.Error())
			return err
		}
	}
}

// pingTick runs every ping interval: an idle connection gets a PING, and
// one that stayed silent for MaxPingsOut ticks after that is closed.
func (c *conn) pingTick() {
	if c.active.Swap(false) {
		c.pingsOut = 0
	} else {
		c.pingsOut++
		if c.pingsOut > c.g.cfg.MaxPingsOut {
			c.drain(wire.CodeIdleTimeout, fmt.Sprintf("no traffic for %d ping intervals of %v", c.pingsOut, c.g.cfg.PingInterval))
			return
		}
		c.sendEmpty(wire.OpPing)
	}
	c.mu.Lock()
	c.releaseBurstBuffersLocked()
	if !c.closed {
		c.pingTimer.Reset(c.g.cfg.PingInterval)
	}
	c.mu.Unlock()
}

// stampedReader notes the time each read from the socket returned: the
// receive time of the frames in it, read once per socket read rather than
// once per message. Only the read loop uses it.
type stampedReader struct {
	r   io.Reader
	now time.Time
}

func (s *stampedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.now = time.Now()
	return n, err
}
