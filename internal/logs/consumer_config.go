package logs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferrymq/ferry/internal/subject"
)

// DefaultAckWait is how long a delivery waits for its ack before it is due
// again, when ConsumerConfig.AckWait is zero.
const DefaultAckWait = 30 * time.Second

// DefaultMaxAckPending caps a consumer's unacknowledged deliveries when
// ConsumerConfig.MaxAckPending is zero.
const DefaultMaxAckPending = 1000

// AckMode says what a consumer expects back for a delivery.
type AckMode int

// Ack modes. The zero value is AckEach.
const (
	// AckEach: every delivery is acknowledged on its own.
	AckEach AckMode = iota
	// AckNone: a delivery is done when delivered; nothing is redelivered.
	AckNone
	// AckCumulative: an ack of seq acknowledges every delivery up to seq.
	AckCumulative
)

var ackNames = [...]string{AckEach: "each", AckNone: "none", AckCumulative: "cumulative"}

// String is the form ParseAckMode reads.
func (a AckMode) String() string {
	if a >= 0 && int(a) < len(ackNames) {
		return ackNames[a]
	}
	return "AckMode(" + strconv.Itoa(int(a)) + ")"
}

// ParseAckMode reads "none", "each" or "cumulative".
func ParseAckMode(s string) (AckMode, error) {
	for i, n := range ackNames {
		if s == n {
			return AckMode(i), nil
		}
	}
	return 0, fmt.Errorf("logs: ack mode %q: %w: want none, each or cumulative", s, ErrInvalid)
}

// MarshalText writes the mode's name.
func (a AckMode) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads a mode's name.
func (a *AckMode) UnmarshalText(b []byte) error {
	m, err := ParseAckMode(string(b))
	*a = m
	return err
}

type startKind int

const (
	startFirst startKind = iota
	startLast
	startNew
	startSeq
	startTime
)

// StartPos is where a new consumer starts. The zero value is StartFirst.
type StartPos struct {
	kind startKind
	seq  uint64
	time time.Time
}

// Start positions.
var (
	StartFirst = StartPos{kind: startFirst} // the oldest stored record
	StartLast  = StartPos{kind: startLast}  // the newest stored record
	StartNew   = StartPos{kind: startNew}   // the next record appended
)

// StartAtSeq starts at sequence n (or the oldest stored record past it).
func StartAtSeq(n uint64) StartPos { return StartPos{kind: startSeq, seq: n} }

// StartAtTime starts at the first record stored at or after t.
func StartAtTime(t time.Time) StartPos { return StartPos{kind: startTime, time: t} }

// String is the form ParseStart reads.
func (p StartPos) String() string {
	switch p.kind {
	case startLast:
		return "last"
	case startNew:
		return "new"
	case startSeq:
		return "seq:" + strconv.FormatUint(p.seq, 10)
	case startTime:
		return "time:" + p.time.Format(time.RFC3339Nano)
	}
	return "first"
}

// ParseStart reads "first", "last", "new", "seq:N" or "time:RFC3339".
func ParseStart(s string) (StartPos, error) {
	switch {
	case s == "first" || s == "":
		return StartFirst, nil
	case s == "last":
		return StartLast, nil
	case s == "new":
		return StartNew, nil
	case strings.HasPrefix(s, "seq:"):
		n, err := strconv.ParseUint(s[4:], 10, 64)
		if err == nil && n > 0 {
			return StartAtSeq(n), nil
		}
	case strings.HasPrefix(s, "time:"):
		t, err := time.Parse(time.RFC3339Nano, s[5:])
		if err == nil {
			return StartAtTime(t), nil
		}
	}
	return StartPos{}, fmt.Errorf("logs: start %q: %w: want first, last, new, seq:N or time:RFC3339", s, ErrInvalid)
}

// ConsumerConfig defines a consumer. Name "" makes an ephemeral consumer,
// private to the returned handle and gone when it is closed; a named one is
// durable and shared by every handle opened on it. Zero AckWait is
// DefaultAckWait, zero MaxDeliveries is unlimited, zero MaxAckPending is
// DefaultMaxAckPending, and zero DeadLetter is "$DLQ.<log>.<consumer>".
//
// A consumer with a DeliverSubject is a push consumer: the manager sends
// its records to that subject through Config.Deliver (see push.go) instead
// of waiting for Fetch. DeliverGroup names the queue group its subscribers
// share (a work queue); the manager only records it, since the broker picks
// one member of a queue group for each message on its own.
type ConsumerConfig struct {
	Log           string        `json:"log"`
	Name          string        `json:"name"`
	Start         StartPos      `json:"-"` // used only when the consumer is created
	Ack           AckMode       `json:"ack"`
	AckWait       time.Duration `json:"ack_wait_ns"`
	MaxDeliveries int           `json:"max_deliveries,omitempty"`
	DeadLetter    string        `json:"dead_letter"`
	// MaxAckPending caps the deliveries awaiting acknowledgement: while
	// that many are pending no new record goes out (redeliveries still
	// do). It has no effect under AckNone.
	MaxAckPending  int    `json:"max_ack_pending,omitempty"`
	DeliverSubject string `json:"deliver_subject,omitempty"`
	DeliverGroup   string `json:"deliver_group,omitempty"`
}

// Push reports whether c is a push consumer.
func (c ConsumerConfig) Push() bool { return c.DeliverSubject != "" }

func (c ConsumerConfig) withDefaults(name string) ConsumerConfig {
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.DeadLetter == "" {
		c.DeadLetter = "$DLQ." + c.Log + "." + name
	}
	return c
}

// validate checks c after withDefaults; errors wrap ErrInvalid.
func (c ConsumerConfig) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("logs: consumer %q on %q: %w: %s", c.Name, c.Log, ErrInvalid, fmt.Sprintf(format, args...))
	}
	if c.Ack < AckEach || c.Ack > AckCumulative {
		return bad("unknown ack mode %d", int(c.Ack))
	}
	if c.AckWait < 0 || c.MaxDeliveries < 0 || c.MaxAckPending < 0 {
		return bad("negative ack wait, max deliveries or max ack pending")
	}
	if err := subject.ValidatePublish(c.DeadLetter); err != nil {
		return fmt.Errorf("logs: consumer %q dead-letter subject: %w: %w", c.Name, ErrInvalid, err)
	}
	if c.DeliverSubject != "" {
		if err := subject.ValidatePublish(c.DeliverSubject); err != nil {
			return fmt.Errorf("logs: consumer %q deliver subject: %w: %w", c.Name, ErrInvalid, err)
		}
	}
	if c.DeliverGroup != "" {
		if c.DeliverSubject == "" {
			return bad("a deliver group needs a deliver subject")
		}
		if err := validateName("deliver group", c.DeliverGroup); err != nil {
			return err
		}
	}
	if c.Start.kind == startSeq && c.Start.seq == 0 {
		return bad("start sequence 0")
	}
	return nil
}

// sameAs reports whether an existing consumer can be opened with c.
func (c ConsumerConfig) sameAs(o ConsumerConfig) bool {
	return c.Ack == o.Ack && c.AckWait == o.AckWait && c.MaxDeliveries == o.MaxDeliveries &&
		c.DeadLetter == o.DeadLetter && c.MaxAckPending == o.MaxAckPending &&
		c.DeliverSubject == o.DeliverSubject && c.DeliverGroup == o.DeliverGroup
}
