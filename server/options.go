package server

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults for Options; docs/operations.md lists the same values.
const (
	DefaultListen           = "127.0.0.1:7420"
	DefaultDataDir          = "./ferry-data"
	DefaultMaxPayload       = 1 << 20  // 1 MiB
	DefaultMaxHeaders       = 64 << 10 // 64 KiB
	DefaultMaxSubjectBytes  = 256
	DefaultMaxSubjectTokens = 32
	DefaultMaxSubsPerConn   = 65536
	DefaultMaxPending       = 32 << 20 // 32 MiB of outbound bytes per connection
	DefaultMaxConns         = 65536
	DefaultHandshakeTimeout = 2 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	DefaultPingInterval     = 30 * time.Second
	DefaultMaxPingsOut      = 2
	DefaultMaxAttempts      = 3
	DefaultStallTimeout     = 2 * time.Second
)

// Options configures a Server. The zero value works: every zero field takes
// its default.
type Options struct {
	Listen string // native protocol TCP address; "127.0.0.1:0" picks a free port
	// DataDir is the directory for durable state: the logs' definitions,
	// data and consumer positions (docs/logs.md). Empty keeps logs in
	// memory only (an embedded server); "ferry serve" uses DefaultDataDir.
	DataDir string
	Name    string // server name reported in INFO

	// HTTPListen is the TCP address of the HTTP listener serving /healthz,
	// /readyz, /metrics (Prometheus) and the JSON API under /api/v1/
	// (docs/operations.md). Empty means no HTTP listener: an embedded
	// server opens only the native port unless asked. "ferry serve"
	// defaults it to 127.0.0.1:7480.
	HTTPListen string

	MaxPayload       int           // largest message payload in bytes
	MaxHeaders       int           // largest encoded header block in bytes
	MaxSubjectBytes  int           // longest subject or pattern in bytes
	MaxSubjectTokens int           // most tokens in a subject or pattern
	MaxSubsPerConn   int           // most live subscriptions per connection
	MaxPending       int           // most outbound bytes buffered per connection before it is cut as a slow consumer
	MaxConns         int           // most concurrent client connections
	HandshakeTimeout time.Duration // a connection must send CONNECT within this
	WriteTimeout     time.Duration // a write to a client socket must finish within this
	PingInterval     time.Duration // the server PINGs a connection idle this long
	MaxPingsOut      int           // unanswered PINGs before the connection is closed
	MaxAttempts      int           // deliveries of one anycast request, failovers included (default 3)
	StallTimeout     time.Duration // how long a cut-slow stream waits for a stalled receiver before cutting it (default 2s)

	Logger *slog.Logger // nil discards logs
}

// ErrInvalidOptions reports options that cannot work.
var ErrInvalidOptions = errors.New("server: invalid options")

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Name == "" {
		o.Name = "ferry"
	}
	def(&o.MaxPayload, DefaultMaxPayload)
	def(&o.MaxHeaders, DefaultMaxHeaders)
	def(&o.MaxSubjectBytes, DefaultMaxSubjectBytes)
	def(&o.MaxSubjectTokens, DefaultMaxSubjectTokens)
	def(&o.MaxSubsPerConn, DefaultMaxSubsPerConn)
	def(&o.MaxPending, DefaultMaxPending)
	def(&o.MaxConns, DefaultMaxConns)
	def(&o.MaxPingsOut, DefaultMaxPingsOut)
	def(&o.MaxAttempts, DefaultMaxAttempts)
	defDur(&o.StallTimeout, DefaultStallTimeout)
	defDur(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	defDur(&o.WriteTimeout, DefaultWriteTimeout)
	defDur(&o.PingInterval, DefaultPingInterval)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports the first option that cannot work, after defaults.
func (o Options) Validate() error {
	o = o.withDefaults()
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"MaxPayload", int64(o.MaxPayload)}, {"MaxHeaders", int64(o.MaxHeaders)},
		{"MaxSubjectBytes", int64(o.MaxSubjectBytes)}, {"MaxSubjectTokens", int64(o.MaxSubjectTokens)},
		{"MaxSubsPerConn", int64(o.MaxSubsPerConn)}, {"MaxPending", int64(o.MaxPending)},
		{"MaxConns", int64(o.MaxConns)}, {"MaxPingsOut", int64(o.MaxPingsOut)},
		{"HandshakeTimeout", int64(o.HandshakeTimeout)}, {"WriteTimeout", int64(o.WriteTimeout)},
		{"PingInterval", int64(o.PingInterval)}, {"MaxAttempts", int64(o.MaxAttempts)},
		{"StallTimeout", int64(o.StallTimeout)},
	} {
		if c.v < 0 {
			return fmt.Errorf("%w: %s is %d, must not be negative", ErrInvalidOptions, c.name, c.v)
		}
	}
	if o.MaxPayload > 64<<20 {
		return fmt.Errorf("%w: MaxPayload is %d, limit is %d", ErrInvalidOptions, o.MaxPayload, 64<<20)
	}
	if o.MaxPending < o.MaxPayload {
		return fmt.Errorf("%w: MaxPending (%d) is smaller than MaxPayload (%d)", ErrInvalidOptions, o.MaxPending, o.MaxPayload)
	}
	return nil
}
