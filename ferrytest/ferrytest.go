// Package ferrytest runs an in-process Ferry server on a loopback port for
// tests, like net/http/httptest.
//
//	func TestOrders(t *testing.T) {
//		s := ferrytest.New(t)
//		nc, err := ferry.Connect(s.URL())
//		...
//	}
package ferrytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/server"
)

// Server is a running test server.
type Server struct {
	opts server.Options
	addr string

	mu  sync.Mutex // guards srv
	srv *server.Server
}

// New starts a server on 127.0.0.1:0 (unless opts set Listen) and shuts it
// down when the test ends. A failure to start fails the test.
func New(tb testing.TB, opts ...server.Options) *Server {
	tb.Helper()
	var o server.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DataDir == "" {
		o.DataDir = tb.TempDir()
	}
	s, err := Start(o)
	if err != nil {
		tb.Fatalf("ferrytest: %v", err)
	}
	tb.Cleanup(s.Shutdown)
	return s
}

// Start starts a server without a testing.TB, for examples and benchmarks
// driven by hand; the caller calls Shutdown.
func Start(opts ...server.Options) (*Server, error) {
	var o server.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	s := &Server{opts: o}
	if err := s.start(o); err != nil {
		return nil, err
	}
	s.addr = s.srv.Addr().String()
	return s, nil
}

func (s *Server) start(o server.Options) error {
	srv, err := server.New(o)
	if err != nil {
		return fmt.Errorf("ferrytest: new server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("ferrytest: start: %w", err)
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	return nil
}

// URL returns the client URL, "ferry://127.0.0.1:PORT".
func (s *Server) URL() string { return "ferry://" + s.addr }

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.addr }

// Server returns the running server.
func (s *Server) Server() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// Shutdown stops the server gracefully, waiting at most 5 seconds. It is
// safe to call more than once.
func (s *Server) Shutdown() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

// Restart shuts the server down and starts a new one on the same address,
// so clients can be tested reconnecting. The new server has no state.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Shutdown()
	o := s.opts
	o.Listen = s.addr
	// The port was just released; another process may take it, so retry
	// briefly on "address in use".
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.start(o)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("ferrytest: restart on %s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
