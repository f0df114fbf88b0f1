package ferry

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// Headers of a record pushed by the server to a push consumer's deliver
// subject. Consume reads them into the LogRecord and leaves the record's
// own headers in LogRecord.Header.
const (
	LogHeader         = "Ferry-Log"        // the log's name
	SeqHeader         = "Ferry-Seq"        // the record's sequence in the log
	ConsumerHeader    = "Ferry-Consumer"   // the consumer delivering it
	DeliveriesHeader  = "Ferry-Deliveries" // 1 on the first delivery
	LogSubjectHeader  = "Ferry-Subject"    // the subject the record was published on
	LogTimeHeader     = "Ferry-Time"       // when it was stored, RFC 3339
	defaultPushPrefix = "_PUSH."
)

// PushConsumer is a running Consume: a subscription on the deliver subject
// of a push consumer the server feeds.
type PushConsumer struct {
	conn *Conn
	sub  *Subscription
	log  string
	name string
	info ConsumerInfo
}

// Consume creates the durable push consumer cc describes (or opens it when
// it exists with the same configuration; a different one is ErrLogExists)
// and calls fn for each record the server pushes to it, one at a time, in
// the order they arrive. The handler acknowledges with r.Ack (or r.Nak);
// under Ack "each" or "cumulative" a record not acknowledged within the ack
// wait is pushed again, and at most cc.MaxAckPending records are
// unacknowledged at a time.
//
// cc.Name is required: the consumer is durable, survives restarts of the
// server and keeps being fed, from where it was, whoever subscribes.
// Several clients may Consume the same consumer: with cc.DeliverGroup each
// record goes to one of them (a work queue); without one, each gets every
// record. Separate consumers each get every record (fan-out).
//
// The subscription is made before the consumer, so the first records are
// not pushed to nobody. Stop ends the subscription; Delete also deletes the
// consumer.
func (c *Conn) Consume(ctx context.Context, cc ConsumerConfig, fn func(*LogRecord)) (*PushConsumer, error) {
	if fn == nil {
		return nil, fmt.Errorf("ferry: consume log %q: %w: nil handler", cc.Log, ErrBadSubscription)
	}
	if cc.Name == "" {
		return nil, fmt.Errorf("ferry: consume log %q: %w: a push consumer needs a name", cc.Log, ErrLogInvalid)
	}
	if cc.AckWait < 0 || cc.MaxAckPending < 0 {
		return nil, fmt.Errorf("ferry: consume log %q: %w: negative ack wait or max ack pending", cc.Log, ErrLogInvalid)
	}
	if cc.DeliverSubject == "" {
		cc.DeliverSubject = defaultPushPrefix + cc.Log + "." + cc.Name
	}
	var opts []SubOption
	if cc.DeliverGroup != "" {
		opts = append(opts, InGroup(cc.DeliverGroup))
	}
	p := &PushConsumer{conn: c, log: cc.Log, name: cc.Name}
	sub, err := c.Subscribe(cc.DeliverSubject, func(m *Msg) {
		if r := p.record(m); r != nil {
			fn(r)
		}
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("ferry: consume log %q: %w", cc.Log, err)
	}
	p.sub = sub
	req := consumeJSON{consumerSettingsJSON: cc.settingsJSON(), DeliverSubject: cc.DeliverSubject, DeliverGroup: cc.DeliverGroup}
	var ans consumerJSON
	if err := c.logCall(ctx, wire.LogConsume, req, &ans); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("ferry: consume log %q as %q: %w", cc.Log, cc.Name, err)
	}
	p.info = ans.info()
	return p, nil
}

type consumeJSON struct {
	consumerSettingsJSON
	DeliverSubject string `json:"deliver_subject"`
	DeliverGroup   string `json:"deliver_group,omitempty"`
}

// consumerJSON is the server's description of one consumer.
type consumerJSON struct {
	Name           string `json:"name"`
	Durable        bool   `json:"durable"`
	Ack            string `json:"ack"`
	AckWaitMs      int64  `json:"ack_wait_ms"`
	MaxDeliveries  int    `json:"max_deliveries"`
	DeadLetter     string `json:"dead_letter"`
	MaxAckPending  int    `json:"max_ack_pending"`
	DeliverSubject string `json:"deliver_subject"`
	DeliverGroup   string `json:"deliver_group"`
	Delivered      uint64 `json:"delivered"`
	AckFloor       uint64 `json:"ack_floor"`
	Pending        int    `json:"pending"`
}

func (j *consumerJSON) info() ConsumerInfo {
	return ConsumerInfo{Name: j.Name, Durable: j.Durable, Ack: j.Ack,
		AckWait: time.Duration(j.AckWaitMs) * time.Millisecond, MaxDeliveries: j.MaxDeliveries,
		DeadLetter: j.DeadLetter, MaxAckPending: j.MaxAckPending, DeliverSubject: j.DeliverSubject,
		DeliverGroup: j.DeliverGroup, Delivered: j.Delivered, AckFloor: j.AckFloor, Pending: j.Pending}
}

// record turns a pushed message into a LogRecord; nil when it lacks the
// push headers (someone else published on the deliver subject).
func (p *PushConsumer) record(m *Msg) *LogRecord {
	r := &LogRecord{Log: p.log, Consumer: p.name, Data: m.Data, conn: p.conn}
	if r.Data == nil {
		r.Data = []byte{}
	}
	var err error
	for _, h := range m.Header {
		switch h.Key {
		case SeqHeader:
			r.Seq, err = strconv.ParseUint(h.Value, 10, 64)
		case DeliveriesHeader:
			r.Deliveries, _ = strconv.Atoi(h.Value)
		case LogSubjectHeader:
			r.Subject = h.Value
		case LogTimeHeader:
			r.Time, _ = time.Parse(time.RFC3339Nano, h.Value)
		case LogHeader, ConsumerHeader:
		default:
			r.Header = append(r.Header, h)
		}
	}
	if err != nil || r.Seq == 0 {
		return nil
	}
	return r
}

// Info describes the consumer as the server answered Consume.
func (p *PushConsumer) Info() ConsumerInfo { return p.info }

// Subscription is the subscription on the deliver subject.
func (p *PushConsumer) Subscription() *Subscription { return p.sub }

// Stop ends the subscription. The consumer stays on the server: records
// pushed while nobody subscribes are not counted as delivered, and a later
// Consume goes on where this one stopped.
func (p *PushConsumer) Stop() error { return p.sub.Unsubscribe() }

// Delete ends the subscription and deletes the consumer and its position.
func (p *PushConsumer) Delete(ctx context.Context) error {
	p.sub.Unsubscribe()
	return p.conn.DeleteConsumer(ctx, p.log, p.name)
}

// DeleteConsumer deletes a durable consumer of log (pull or push) and its
// position; ErrLogNotFound when there is none.
func (c *Conn) DeleteConsumer(ctx context.Context, log, consumer string) error {
	if err := c.logCall(ctx, wire.LogDeleteConsumer, logConsumerJSON{log, consumer}, nil); err != nil {
		return fmt.Errorf("ferry: delete consumer %q of log %q: %w", consumer, log, err)
	}
	return nil
}

type logConsumerJSON struct {
	Log      string `json:"log"`
	Consumer string `json:"consumer"`
}
