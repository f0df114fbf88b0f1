package ferry

import (
	"errors"
	"fmt"
)

// StatusHeader marks a message about a request rather than its answer
// (docs/protocol.md "Status headers"). Its values are StatusNoResponders,
// StatusDeclined and StatusAck.
const StatusHeader = "Ferry-Status"

// Status header values.
const (
	// StatusNoResponders is sent by the server to a request's reply
	// address when every anycast candidate failed.
	StatusNoResponders = "no-responders"
	// StatusDeclined is sent by a receiver that will not answer a request
	// (Msg.Decline, or a Respond handler returning nil).
	StatusDeclined = "declined"
	// StatusAck is sent by a receiver's client library when it has handled
	// a message sent with SendAck.
	StatusAck = "ack"
)

// ackHeader asks the receiver's client library to acknowledge a request
// once its handler has returned (SendAck).
const (
	ackHeader   = "Ferry-Ack"
	ackRequired = "required"
)

// Status returns m's Ferry-Status header value, or "" for an ordinary
// message.
func (m *Msg) Status() string { return m.Header.Get(StatusHeader) }

// Decline tells the sender of request m that this receiver will not answer
// it: an empty reply carrying Ferry-Status: declined. A scatter-gather
// (RequestMany) counts it as done, a Request stops waiting once every
// receiver declined, and an anycast request goes to the next candidate at
// once. It returns ErrNoReplyAddress when m is not a request.
func (m *Msg) Decline() error {
	return m.RespondMsg(&Msg{Header: Header{{StatusHeader, StatusDeclined}}})
}

// acknowledge runs after the handler of a request returned: when the sender
// asked for an acknowledgement (SendAck) and the handler neither responded
// nor declined, it publishes an empty reply with Ferry-Status: ack. For
// SubscribeChan the handler returns once m was handed to the channel.
func (s *Subscription) acknowledge(m *Msg) {
	if m.answered.Load() || m.Header.Get(ackHeader) != ackRequired {
		return
	}
	select {
	case <-s.quit:
		return // abandoned: not handed to the handler or the channel
	default:
	}
	err := m.RespondMsg(&Msg{Header: Header{{StatusHeader, StatusAck}}})
	if err != nil && !errors.Is(err, ErrClosed) {
		s.conn.reportErr(fmt.Errorf("ferry: acknowledge %q: %w", m.Subject, err))
	}
}
