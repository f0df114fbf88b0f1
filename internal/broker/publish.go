package broker

import (
	"fmt"
	"unsafe"

	"github.com/ferrymq/ferry/internal/subject"
)

// Mode is a routing mode; the values equal the wire protocol's.
type Mode uint8

// Routing modes.
const (
	ModePublish   Mode = 0
	ModeUnicast   Mode = 1
	ModeBroadcast Mode = 2
	ModeMulticast Mode = 3
	ModeAnycast   Mode = 4
)

// Message is a message being routed. Its byte slices belong to the caller
// and are valid only during Publish; sinks copy what they keep.
type Message struct {
	Subject []byte
	Reply   []byte
	From    []byte // sender's endpoint ID
	Mode    Mode
	Headers []byte // encoded header block, opaque to the broker
	Payload []byte
}

// Target names who may receive a message. The zero Target reaches the
// topic subscriptions matching the subject.
type Target struct {
	Mode Mode
	To   []byte // endpoint ID for unicast
}

// Publish validates m and routes it from ep to t. It returns how many
// subscriptions received it. The check of headers' structure is the
// transport's; the broker checks sizes and the subject.
func (b *Broker) Publish(ep *Endpoint, m *Message, t Target) (int, error) {
	if err := b.validate(m); err != nil {
		return 0, err
	}
	m.Mode = t.Mode
	var n int
	switch t.Mode {
	case ModePublish:
		n = b.publishTopic(m)
	case ModeUnicast:
		var err error
		if n, err = b.unicast(m, t.To); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("%w: routing mode %d", ErrNotSupported, t.Mode)
	}
	b.stats.msgsIn.Add(1)
	b.stats.bytesIn.Add(uint64(len(m.Payload)))
	if n == 0 {
		b.stats.noReceivers.Add(1)
	}
	return n, nil
}

func (b *Broker) validate(m *Message) error {
	if len(m.Payload) > b.cfg.MaxPayload {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrPayloadTooLarge, len(m.Payload), b.cfg.MaxPayload)
	}
	if len(m.Headers) > b.cfg.MaxHeaders {
		return fmt.Errorf("%w: %d bytes, limit is %d", ErrHeadersTooLarge, len(m.Headers), b.cfg.MaxHeaders)
	}
	if err := b.cfg.Subjects.ValidatePublishBytes(m.Subject); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	if len(m.Reply) > 0 {
		if err := b.cfg.Subjects.ValidatePublishBytes(m.Reply); err != nil {
			return fmt.Errorf("%w: reply address: %w", ErrInvalidSubject, err)
		}
	}
	return nil
}

// publishTopic delivers m to every plain subscription matching its subject
// and to one member of every matching queue group.
func (b *Broker) publishTopic(m *Message) int {
	n := 0
	for _, e := range b.topic.MatchBytes(m.Subject) {
		if e.sub != nil {
			if b.deliver(e.sub, m) {
				n++
			}
			continue
		}
		if b.deliverGroup(e.group, m) {
			n++
		}
	}
	return n
}

// deliverGroup gives m to one member of qg, starting at the round-robin
// position and moving on past members that cannot take it.
func (b *Broker) deliverGroup(qg *queueGroup, m *Message) bool {
	mp := qg.members.Load()
	if mp == nil {
		return false
	}
	members := *mp
	start := qg.next.Add(1) - 1
	for i := range members {
		s := members[(start+uint64(i))%uint64(len(members))]
		if b.deliver(s, m) {
			return true
		}
	}
	return false
}

// unicast delivers m to the first inbox subscription of endpoint id that
// matches the subject: one copy per endpoint.
func (b *Broker) unicast(m *Message, id []byte) (int, error) {
	if len(id) == 0 {
		return 0, fmt.Errorf("%w: unicast needs an endpoint ID", ErrInvalidTarget)
	}
	b.mu.RLock()
	ep := b.endpoints[string(id)]
	b.mu.RUnlock()
	if ep == nil {
		return 0, nil
	}
	inbox := ep.inbox.Load()
	if inbox == nil {
		return 0, nil
	}
	subj := bytesToString(m.Subject)
	for _, s := range *inbox {
		if subject.Match(s.pattern, subj) {
			if b.deliver(s, m) {
				return 1, nil
			}
			return 0, nil
		}
	}
	return 0, nil
}

func (b *Broker) deliver(s *Subscription, m *Message) bool {
	if !s.ep.sink.Deliver(s.sid, m) {
		return false
	}
	b.stats.msgsOut.Add(1)
	b.stats.bytesOut.Add(uint64(len(m.Payload)))
	return true
}

// bytesToString views b as a string without copying; the string must not
// outlive b or be kept.
func bytesToString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
