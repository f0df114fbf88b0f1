package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/gateway/httpapi"
	"github.com/ferrymq/ferry/internal/gateway/native"
	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/metrics"
	"github.com/ferrymq/ferry/internal/subject"
)

// Version is the server's version, reported to clients in INFO.
const Version = "0.1.0"

// ErrStarted is returned by Start on a server that was already started.
var ErrStarted = errors.New("server: already started")

// Server is a Ferry broker with its front doors.
type Server struct {
	opts   Options
	broker *broker.Broker
	native *native.Gateway
	http   *httpapi.Handler
	logs   *logs.Manager
	ready  chan struct{} // closed when New has filled the fields above

	// Server-originated publishes (dead letters) in flight: a counter
	// rather than a WaitGroup, since the logs' timers may start one while
	// Shutdown waits.
	bgMu   sync.Mutex
	bgN    int
	bgIdle *sync.Cond

	mu       sync.Mutex // guards ln, httpLn, httpSrv, started
	ln       net.Listener
	httpLn   net.Listener  // nil without Options.HTTPListen
	httpSrv  *http.Server  // serves http on httpLn
	httpDone chan struct{} // closed when httpSrv.Serve returned
	started  bool
	start    time.Time
	done     chan struct{}
	serveErr error
}

// New builds a server from opts; it does not listen yet.
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	s := &Server{done: make(chan struct{}), ready: make(chan struct{})}
	s.bgIdle = sync.NewCond(&s.bgMu)
	// The raw option, not the default: an embedded server without a
	// DataDir keeps its logs in memory.
	ms := metrics.New()
	lm, err := logs.Open(logs.Config{Dir: opts.DataDir, Logger: o.Logger, Publish: s.publishLater, Deliver: s.deliver})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	b := broker.New(broker.Config{
		Durable:        durable{lm, ms},
		Subjects:       subject.Limits{MaxBytes: o.MaxSubjectBytes, MaxTokens: o.MaxSubjectTokens},
		MaxPayload:     o.MaxPayload,
		MaxHeaders:     o.MaxHeaders,
		MaxSubsPerConn: o.MaxSubsPerConn,
		MaxAttempts:    o.MaxAttempts,
		StallTimeout:   o.StallTimeout,
		Logger:         o.Logger,
	})
	g := native.New(b, native.Config{
		ServerName:       o.Name + " " + Version,
		MaxPayload:       o.MaxPayload,
		MaxHeaders:       o.MaxHeaders,
		MaxPending:       o.MaxPending,
		MaxConns:         o.MaxConns,
		HandshakeTimeout: o.HandshakeTimeout,
		WriteTimeout:     o.WriteTimeout,
		PingInterval:     o.PingInterval,
		MaxPingsOut:      o.MaxPingsOut,
		Logger:           o.Logger,
		Logs:             lm,
		Metrics:          ms,
	})
	s.opts, s.broker, s.native, s.logs = o, b, g, lm
	defer close(s.ready)
	s.http = httpapi.New(httpapi.Config{
		Broker: b, Name: o.Name, Version: Version,
		Connections: g.NumConns, Drops: g.DroppedBy, Uptime: s.uptime,
		Logs:           func() []httpapi.LogView { return httpapi.LogViews(lm.List()) },
		ProcessMetrics: true,
		Metrics:        ms,
	})
	return s, nil
}

// Start listens on Options.Listen and serves in the background. It returns
// once the listener is open, so Addr is valid when it returns nil.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.opts.Listen, err)
	}
	if s.opts.HTTPListen != "" {
		hln, err := net.Listen("tcp", s.opts.HTTPListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: HTTP listen on %s: %w", s.opts.HTTPListen, err)
		}
		s.httpLn, s.httpDone = hln, make(chan struct{})
		s.httpSrv = &http.Server{Handler: s.http, ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn)}
	}
	s.ln, s.started, s.start = ln, true, time.Now()
	// The listener is open, so connections queue in its backlog from now
	// on: the server is ready, before anything announces its addresses.
	s.http.SetReady(true)
	s.opts.Logger.Info("listening", "addr", ln.Addr().String(), "protocol", "native", "version", Version)
	if s.httpLn != nil {
		s.opts.Logger.Info("listening", "addr", s.httpLn.Addr().String(), "protocol", "http")
		go func() {
			defer close(s.httpDone)
			s.httpSrv.Serve(s.httpLn) // returns http.ErrServerClosed on Shutdown
		}()
	}
	go func() {
		err := s.native.Serve(ln)
		s.mu.Lock()
		s.serveErr = err
		s.mu.Unlock()
		close(s.done)
	}()
	return nil
}

// Addr returns the native protocol listener's address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// HTTPAddr returns the HTTP listener's address, or nil before Start or
// without Options.HTTPListen.
func (s *Server) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// Handler returns the HTTP handler (health, metrics, JSON API), for
// embedding it in another HTTP server instead of Options.HTTPListen.
func (s *Server) Handler() http.Handler { return s.http }

// URL returns the client URL of the native listener, like
// "ferry://127.0.0.1:7420", or "" before Start.
func (s *Server) URL() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	return "ferry://" + a.String()
}

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// Shutdown stops accepting connections, tells clients the server is going
// away, flushes what is pending to each and closes them. If ctx ends first,
// the remaining connections are closed at once. /readyz answers 503 from
// the start of Shutdown; the HTTP listener closes last.
func (s *Server) Shutdown(ctx context.Context) error {
	s.http.SetReady(false)
	s.http.Close() // end dashboard event streams, which never finish by themselves
	s.mu.Lock()
	started, httpSrv, httpDone := s.started, s.httpSrv, s.httpDone
	s.mu.Unlock()
	err := s.native.Shutdown(ctx)
	if started {
		<-s.done
	}
	if httpSrv != nil {
		if herr := httpSrv.Shutdown(ctx); herr != nil {
			httpSrv.Close()
		}
		<-httpDone
	}
	// Dead letters in flight may still be stored in a log: let them
	// finish, then close the logs (which stops their timers), then wait for
	// any started meanwhile (those find the logs closed).
	s.bgWait()
	if lerr := s.logs.Close(); lerr != nil {
		s.opts.Logger.Warn("closing the logs", "err", lerr)
	}
	s.bgWait()
	s.opts.Logger.Info("stopped")
	return err
}

// publishLater is the logs manager's Publish (dead letters): a plain
// publish from the server itself. It runs on its own goroutine, because
// the manager must not be called back synchronously and a log may capture
// the subject.
func (s *Server) publishLater(subject string, headers, payload []byte) {
	s.bgMu.Lock()
	s.bgN++
	s.bgMu.Unlock()
	go func() {
		defer s.bgDone()
		<-s.ready
		m := &broker.Message{Subject: []byte(subject), Headers: headers, Payload: payload}
		if _, err := s.broker.Publish(nil, m, broker.Target{}); err != nil {
			s.opts.Logger.Warn("publishing a dead letter", "subject", subject, "err", err)
		}
	}()
}

func (s *Server) bgDone() {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgN--; s.bgN == 0 {
		s.bgIdle.Broadcast()
	}
}

func (s *Server) bgWait() {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	for s.bgN > 0 {
		s.bgIdle.Wait()
	}
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections   int
	Endpoints     int
	Subscriptions int64
	MsgsIn        uint64
	BytesIn       uint64
	MsgsOut       uint64
	BytesOut      uint64
	NoReceivers   uint64
	SlowConsumers uint64
	Failovers     uint64
	Streams       uint64
	StreamMsgs    uint64
	StreamStalls  uint64
	Dropped       uint64    // messages dropped by subscriptions' backpressure policies
	MsgsInByMode  [5]uint64 // MsgsIn by routing mode: publish, unicast, broadcast, multicast, anycast
	Uptime        time.Duration
}

// uptime is the time since Start, or 0 before it.
func (s *Server) uptime() time.Duration {
	s.mu.Lock()
	start := s.start
	s.mu.Unlock()
	if start.IsZero() {
		return 0
	}
	return time.Since(start)
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	bs := s.broker.Stats()
	up := s.uptime()
	return Stats{
		Connections: s.native.NumConns(), Endpoints: bs.Endpoints,
		Subscriptions: bs.Subscriptions, MsgsIn: bs.MsgsIn, BytesIn: bs.BytesIn,
		MsgsOut: bs.MsgsOut, BytesOut: bs.BytesOut, NoReceivers: bs.NoReceivers,
		SlowConsumers: bs.SlowConsumers, Failovers: bs.Failovers, Streams: bs.Streams,
		StreamMsgs: bs.StreamMsgs, StreamStalls: bs.StreamStalls, Dropped: s.native.Dropped(),
		MsgsInByMode: bs.MsgsInByMode, Uptime: up,
	}
}
