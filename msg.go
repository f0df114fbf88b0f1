package ferry

import "sync/atomic"

// HeaderField is one message header.
type HeaderField struct{ Key, Value string }

// Header is an ordered list of message headers; keys may repeat and are
// case-sensitive.
type Header []HeaderField

// Get returns the first value for key, or "".
func (h Header) Get(key string) string {
	for _, f := range h {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// Values returns every value for key, in order.
func (h Header) Values(key string) []string {
	var vs []string
	for _, f := range h {
		if f.Key == key {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Add appends a header.
func (h *Header) Add(key, value string) { *h = append(*h, HeaderField{key, value}) }

// Set replaces every value for key with one value.
func (h *Header) Set(key, value string) {
	h.Del(key)
	h.Add(key, value)
}

// Del removes every value for key.
func (h *Header) Del(key string) {
	out := (*h)[:0]
	for _, f := range *h {
		if f.Key != key {
			out = append(out, f)
		}
	}
	*h = out
}

// Mode says how a received message was routed to this endpoint.
type Mode uint8

// Routing modes.
const (
	ModePublish   Mode = 0 // a plain publish to subscribers of the subject
	ModeUnicast   Mode = 1 // sent to this endpoint by its ID
	ModeBroadcast Mode = 2
	ModeMulticast Mode = 3
	ModeAnycast   Mode = 4
)

func (m Mode) String() string {
	switch m {
	case ModePublish:
		return "publish"
	case ModeUnicast:
		return "unicast"
	case ModeBroadcast:
		return "broadcast"
	case ModeMulticast:
		return "multicast"
	case ModeAnycast:
		return "anycast"
	}
	return "unknown"
}

// Msg is a message, sent or received.
type Msg struct {
	Subject string
	Reply   string // reply address; set by Request, answered by Respond
	Header  Header
	Data    []byte
	Target  Target // who may receive it when sent; zero means subscribers of Subject

	// Set on received messages.
	From string        // sender's endpoint ID; on a reply, the endpoint that answered
	Mode Mode          // how it was routed here
	Sub  *Subscription // the subscription it arrived on; nil on streams and channels

	// Seq is the sequence number within a stream or channel (1, 2, 3…
	// per sending side); later also a log position. Zero on plain messages.
	Seq uint64

	conn     *Conn
	answered atomic.Bool // Respond, RespondMsg or Decline sent a reply to m
}

// Respond publishes data to m's reply address. It returns ErrNoReplyAddress
// when m has none (it was not a request).
func (m *Msg) Respond(data []byte) error {
	return m.RespondMsg(&Msg{Data: data})
}

// RespondMsg publishes r, with headers, to m's reply address; r.Subject is
// set to the reply address.
func (m *Msg) RespondMsg(r *Msg) error {
	if m.Reply == "" {
		return ErrNoReplyAddress
	}
	if m.conn == nil {
		return ErrClosed
	}
	r.Subject = m.Reply
	r.Target = Target{}
	if err := m.conn.PublishMsg(r); err != nil {
		return err
	}
	m.answered.Store(true)
	return nil
}
