package httpapi

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/metrics"
	"github.com/ferrymq/ferry/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what the handler reads from. Broker is required; the functions
// may be nil (they then read as zero).
type Config struct {
	Broker      *broker.Broker
	Name        string     // server name, e.g. "ferry"
	Version     string     // server version, e.g. "0.1.0"
	Connections func() int // open client connections (native gateway)
	// Drops are the messages dropped by backpressure policies and lossy
	// streams (native gateway), by reason.
	Drops func() map[string]uint64
	// Uptime returns the time the server has been running; nil uses the
	// broker's Stats.Uptime.
	Uptime func() time.Duration
	// Logs describes the durable logs and their consumers (LogViews
	// converts the logs manager's List); nil shows none.
	Logs func() []LogView
	// Metrics adds the histograms the server records (request latency,
	// log appends) to /metrics; nil leaves them out.
	Metrics *metrics.Set
	// ProcessMetrics adds the Go runtime and process collectors (go_*,
	// process_*) to /metrics.
	ProcessMetrics bool
	// MaxEventClients bounds the concurrent /api/v1/events streams; beyond
	// it the stream answers 503. Zero means DefaultMaxEventClients.
	MaxEventClients int
	// EventInterval is the time between two snapshots on /api/v1/events.
	// Zero means one second.
	EventInterval time.Duration
}

// DefaultMaxEventClients is the default bound on concurrent
// /api/v1/events streams.
const DefaultMaxEventClients = 64

// Handler serves the HTTP endpoints. It is safe for concurrent use.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	ready atomic.Bool

	events    chan struct{} // one token per open event stream
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	watcher watcher // drops and read-only logs turned into broker events
}

// New returns a handler that is not ready yet: /readyz answers 503 until
// SetReady(true).
func New(cfg Config) *Handler {
	if cfg.MaxEventClients <= 0 {
		cfg.MaxEventClients = DefaultMaxEventClients
	}
	if cfg.EventInterval <= 0 {
		cfg.EventInterval = time.Second
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(),
		events: make(chan struct{}, cfg.MaxEventClients), done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(h))
	if cfg.Metrics != nil {
		reg.MustRegister(cfg.Metrics.Collectors()...)
	}
	if cfg.ProcessMetrics {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	h.mux.HandleFunc("GET /api/v1/server", h.server)
	h.mux.HandleFunc("GET /api/v1/endpoints", h.endpoints)
	h.mux.HandleFunc("GET /api/v1/groups", h.groups)
	h.mux.HandleFunc("GET /api/v1/explain", h.explain)
	h.mux.HandleFunc("GET /api/v1/events", h.eventStream)
	h.mux.HandleFunc("GET /api/v1/decisions", h.decisions)
	h.mux.HandleFunc("GET /api/v1/subjects", h.subjects)
	h.mux.HandleFunc("GET /api/v1/streams", h.streams)
	h.mux.HandleFunc("GET /api/v1/logs", h.logs)
	h.mux.HandleFunc("GET /api/v1/recent-events", h.recentEvents)
	h.mux.Handle("GET /{$}", web.Handler())
	h.mux.Handle("GET /static/", web.Handler())
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API: "+r.Method+" "+r.URL.Path)
	})
	return h
}

// SetReady sets what /readyz answers: 200 when ready, 503 otherwise. The
// server sets it once the native listener accepts and clears it first
// thing in Shutdown.
func (h *Handler) SetReady(ready bool) { h.ready.Store(ready) }

// Close ends the open /api/v1/events streams and makes new ones answer
// 503. http.Server.Shutdown waits for active requests, and an event stream
// never ends by itself, so the server must call Close before (or while)
// shutting the HTTP listener down. Close is idempotent; the rest of the
// handler keeps working.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.done) })
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (h *Handler) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !h.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

func (h *Handler) connections() int {
	if h.cfg.Connections == nil {
		return 0
	}
	return h.cfg.Connections()
}

func (h *Handler) drops() map[string]uint64 {
	if h.cfg.Drops == nil {
		return nil
	}
	return h.cfg.Drops()
}

func (h *Handler) dropped() uint64 {
	var n uint64
	for _, d := range h.drops() {
		n += d
	}
	return n
}

func (h *Handler) uptime(st *broker.Stats) time.Duration {
	if h.cfg.Uptime == nil {
		return st.Uptime
	}
	return h.cfg.Uptime()
}
