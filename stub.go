package ferry

// This file fixes the client API while it is being implemented; the
// implementation replaces it method by method.

import (
	"context"
	"errors"
)

var errUnimplemented = errors.New("ferry: not implemented yet")

// Conn is a connection to a broker, identified as one endpoint.
type Conn struct{ opts options }

// Connect dials url ("ferry://host:port", "tcp://host:port" or "host:port";
// empty means DefaultURL) and performs the handshake.
func Connect(url string, opts ...Option) (*Conn, error) { return nil, errUnimplemented }

// ID returns the endpoint ID this connection holds.
func (c *Conn) ID() string { return "" }

// ServerURL returns the URL the connection dialled.
func (c *Conn) ServerURL() string { return "" }

// Publish sends data to the subscribers of subject. It does not wait for the
// server; use Flush to wait until the server has processed it.
func (c *Conn) Publish(subject string, data []byte) error { return errUnimplemented }

// PublishMsg sends m to m.Target (zero: the subscribers of m.Subject).
func (c *Conn) PublishMsg(m *Msg) error { return errUnimplemented }

// Send delivers data on subject to exactly the endpoint id (unicast) and
// waits until the server has routed it. It returns ErrNoResponders when the
// endpoint is not connected or has no inbox subscription matching subject.
func (c *Conn) Send(ctx context.Context, id, subject string, data []byte) error {
	return errUnimplemented
}

// SendMsg sends m to m.Target and waits until the server has routed it,
// returning the number of receivers reached.
func (c *Conn) SendMsg(ctx context.Context, m *Msg) (int, error) { return 0, errUnimplemented }

// Request publishes data on subject with a reply address and waits for the
// first reply. It returns ErrNoResponders at once when nobody can receive
// the request, and ErrTimeout (also matching ctx's error) when ctx ends.
func (c *Conn) Request(ctx context.Context, subject string, data []byte) (*Msg, error) {
	return nil, errUnimplemented
}

// RequestMsg sends m as a request to m.Target and waits for the first reply.
func (c *Conn) RequestMsg(ctx context.Context, m *Msg) (*Msg, error) {
	return nil, errUnimplemented
}

// Subscribe calls fn for each message on subjects matching pattern (topic
// scope). Messages of one subscription are handled in order, one at a time.
func (c *Conn) Subscribe(pattern string, fn func(*Msg), opts ...SubOption) (*Subscription, error) {
	return nil, errUnimplemented
}

// SubscribeChan delivers messages to ch. When ch is full, messages wait in
// the subscription's pending queue (see WithSubPending).
func (c *Conn) SubscribeChan(pattern string, ch chan<- *Msg, opts ...SubOption) (*Subscription, error) {
	return nil, errUnimplemented
}

// QueueSubscribe is Subscribe with InGroup(group): the members of a group
// share the messages, each message going to one member.
func (c *Conn) QueueSubscribe(pattern, group string, fn func(*Msg)) (*Subscription, error) {
	return nil, errUnimplemented
}

// Handle calls fn for messages targeted at this endpoint (inbox scope:
// unicast and, later, broadcast, multicast by selector and anycast) on
// subjects matching pattern.
func (c *Conn) Handle(pattern string, fn func(*Msg), opts ...SubOption) (*Subscription, error) {
	return nil, errUnimplemented
}

// Respond answers requests on subjects matching pattern, in topic and inbox
// scope, with fn's return value. A nil return sends no reply.
func (c *Conn) Respond(pattern string, fn func(*Msg) []byte, opts ...SubOption) (*Subscription, error) {
	return nil, errUnimplemented
}

// Flush waits until the server has processed everything sent so far.
func (c *Conn) Flush(ctx context.Context) error { return errUnimplemented }

// Drain unsubscribes everything, lets handlers finish the messages already
// received, flushes, and closes.
func (c *Conn) Drain(ctx context.Context) error { return errUnimplemented }

// Close closes the connection at once. Pending handlers are abandoned.
func (c *Conn) Close() error { return errUnimplemented }

// SubOption configures a subscription.
type SubOption func(*subOptions)

type subOptions struct {
	group string
	scope uint8 // wire.Scope bits; zero means topic
}

// InGroup makes the subscription share messages with the other subscriptions
// in the named group on the same pattern: each message goes to one member
// (round-robin).
func InGroup(name string) SubOption { return func(o *subOptions) { o.group = name } }

// Subscription is an interest in a subject pattern.
type Subscription struct{}

// Pattern returns the subscription's subject pattern.
func (s *Subscription) Pattern() string { return "" }

// Group returns the group name, or "".
func (s *Subscription) Group() string { return "" }

// Dropped returns how many messages were dropped because the subscription's
// pending queue was full.
func (s *Subscription) Dropped() uint64 { return 0 }

// Unsubscribe ends the subscription.
func (s *Subscription) Unsubscribe() error { return errUnimplemented }
