package ferry

import (
	"log/slog"
	"time"
)

// DefaultURL is the broker address used when none is given.
const DefaultURL = "ferry://127.0.0.1:7420"

// Option configures a connection.
type Option func(*options)

type options struct {
	id            string
	name          string
	region        string
	labels        map[string]string
	hasLocation   bool
	lat, lon      float64
	token         string
	dialTimeout   time.Duration
	pingInterval  time.Duration
	reconnect     bool
	maxReconnects int // < 0: forever
	reconnectMin  time.Duration
	reconnectMax  time.Duration
	reconnectBuf  int // bytes of publishes kept while disconnected
	subPending    int // messages queued per subscription before drops
	errorHandler  func(error)
	stateHandler  func(State)
	logger        *slog.Logger
}

func defaultOptions() options {
	return options{
		dialTimeout:   5 * time.Second,
		pingInterval:  30 * time.Second,
		reconnect:     true,
		maxReconnects: -1,
		reconnectMin:  50 * time.Millisecond,
		reconnectMax:  2 * time.Second,
		reconnectBuf:  8 << 20,
		subPending:    65536,
		labels:        map[string]string{},
	}
}

// State is a connection state reported to WithStateHandler.
type State int

// Connection states.
const (
	StateConnected State = iota
	StateDisconnected
	StateReconnected
	StateClosed
)

func (s State) String() string {
	return [...]string{"connected", "disconnected", "reconnected", "closed"}[s]
}

// WithID asks for a specific endpoint ID (its unicast address). Without it
// the server assigns one; Conn.ID reports it. IDs are 1–64 characters of
// letters, digits, '-' and '_'.
func WithID(id string) Option { return func(o *options) { o.id = id } }

// WithName sets a human-readable client name shown by the broker.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithRegion sets the endpoint's region, e.g. "eu-central".
func WithRegion(region string) Option { return func(o *options) { o.region = region } }

// WithLabels adds labels given as key, value pairs: WithLabels("type",
// "camera", "subnet", "10.0.1.0/24"). A trailing key without value is
// ignored.
func WithLabels(kv ...string) Option {
	return func(o *options) {
		for i := 0; i+1 < len(kv); i += 2 {
			o.labels[kv[i]] = kv[i+1]
		}
	}
}

// WithLocation sets the endpoint's location in degrees.
func WithLocation(lat, lon float64) Option {
	return func(o *options) { o.hasLocation, o.lat, o.lon = true, lat, lon }
}

// WithToken sets an authentication token (reserved).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTimeout bounds dialing and the handshake (default 5s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithPingInterval sets how often an idle client pings the server (default
// 30s); a missing PONG within two intervals counts as a lost connection.
// Zero or negative turns client pings off.
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.pingInterval = d } }

// WithReconnect turns automatic reconnection on or off (default on).
func WithReconnect(on bool) Option { return func(o *options) { o.reconnect = on } }

// WithMaxReconnects bounds reconnect attempts per outage; negative means
// forever (the default).
func WithMaxReconnects(n int) Option { return func(o *options) { o.maxReconnects = n } }

// WithReconnectWait sets the backoff between reconnect attempts: it starts
// at min and doubles, with jitter, up to max (default 50ms to 2s).
func WithReconnectWait(min, max time.Duration) Option {
	return func(o *options) { o.reconnectMin, o.reconnectMax = min, max }
}

// WithReconnectBuffer sets how many bytes of publishes are kept while
// disconnected (default 8 MiB); past it Publish returns ErrDisconnected.
func WithReconnectBuffer(n int) Option { return func(o *options) { o.reconnectBuf = n } }

// WithSubPending sets how many received messages may wait per subscription
// for its handler (default 65536); past it messages are dropped, counted in
// Subscription.Dropped, and reported as ErrSlowConsumer to the error handler.
func WithSubPending(n int) Option { return func(o *options) { o.subPending = n } }

// WithErrorHandler receives asynchronous errors: server errors not tied to a
// call, dropped messages, lost connections.
func WithErrorHandler(fn func(error)) Option { return func(o *options) { o.errorHandler = fn } }

// WithStateHandler is called on connection state changes.
func WithStateHandler(fn func(State)) Option { return func(o *options) { o.stateHandler = fn } }

// WithLogger sets the logger for connection events (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }
