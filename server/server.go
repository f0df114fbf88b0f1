package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/gateway/native"
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

	mu       sync.Mutex // guards ln, started
	ln       net.Listener
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
	b := broker.New(broker.Config{
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
	})
	return &Server{opts: o, broker: b, native: g, done: make(chan struct{})}, nil
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
	s.ln, s.started, s.start = ln, true, time.Now()
	s.opts.Logger.Info("listening", "addr", ln.Addr().String(), "protocol", "native", "version", Version)
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
// the remaining connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	err := s.native.Shutdown(ctx)
	if started {
		<-s.done
	}
	s.opts.Logger.Info("stopped")
	return err
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
	Uptime        time.Duration
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	bs := s.broker.Stats()
	s.mu.Lock()
	start := s.start
	s.mu.Unlock()
	var up time.Duration
	if !start.IsZero() {
		up = time.Since(start)
	}
	return Stats{
		Connections: s.native.NumConns(), Endpoints: bs.Endpoints,
		Subscriptions: bs.Subscriptions, MsgsIn: bs.MsgsIn, BytesIn: bs.BytesIn,
		MsgsOut: bs.MsgsOut, BytesOut: bs.BytesOut, NoReceivers: bs.NoReceivers,
		SlowConsumers: bs.SlowConsumers, Failovers: bs.Failovers, Streams: bs.Streams,
		StreamMsgs: bs.StreamMsgs, Uptime: up,
	}
}
