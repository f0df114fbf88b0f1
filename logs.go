package ferry

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// Durable logs (docs/logs.md). A log stores the plain publishes on its
// subjects in sequence from 1; consumers read it with Fetch and acknowledge
// what they processed. The calls here are LOG frames answered by RESULT
// (JSON) or ERR; errors match ErrLogNotFound, ErrLogExists, ErrLogInvalid
// and ErrLogNotWritable with errors.Is.

// MsgIDHeader is the header carrying a message's ID: a durable publish
// repeating an ID within the log's dedupe window is neither stored nor
// delivered again, and its PubAck carries the original's sequence.
const MsgIDHeader = "Ferry-Msg-Id"

// PubAck is the server's answer to a durable publish.
type PubAck struct {
	Seq       uint64 // the message's position in the (first) log capturing it
	Receivers int    // live subscribers reached; 0 for a duplicate
}

// PublishDurable publishes data on subject and waits until the server has
// stored it in the logs capturing subject (and then delivered it live). A
// subject no log captures is an error matching ErrNotStored; the message
// was still delivered to any live subscribers. A log that cannot store it
// is ErrLogNotWritable, and then it was not delivered.
func (c *Conn) PublishDurable(ctx context.Context, subject string, data []byte) (PubAck, error) {
	return c.PublishMsgDurable(ctx, &Msg{Subject: subject, Data: data})
}

// PublishMsgDurable is PublishDurable for m, with its reply address and
// headers; m.Header may carry MsgIDHeader for dedupe. m.Target must be the
// plain publish: targeted sends are never stored.
func (c *Conn) PublishMsgDurable(ctx context.Context, m *Msg) (PubAck, error) {
	if m == nil {
		return PubAck{}, fmt.Errorf("ferry: publish durable: nil message")
	}
	if m.Target.mode != ModePublish {
		return PubAck{}, fmt.Errorf("ferry: publish durable %q: %w: only plain publishes are stored, not %v", m.Subject, ErrInvalidTarget, m.Target)
	}
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	if err := c.publish(ref, m.Subject, m.Reply, m.Target, m.Header, m.Data); err != nil {
		c.dropRef(ref)
		return PubAck{}, fmt.Errorf("ferry: publish durable %q: %w", m.Subject, err)
	}
	res, err := c.awaitRef(ctx, ref, answer)
	if err != nil {
		return PubAck{}, fmt.Errorf("ferry: publish durable %q: %w", m.Subject, err)
	}
	ack := PubAck{Seq: res.seq, Receivers: int(min(res.count, 1<<31-1))}
	if ack.Seq == 0 {
		return ack, fmt.Errorf("ferry: publish durable %q: %w", m.Subject, ErrNotStored)
	}
	return ack, nil
}

// Storage and sync values for LogConfig.
const (
	StorageFile   = "file"
	StorageMemory = "memory"
	SyncAlways    = "always"
	SyncNever     = "never"
	// "interval:D" (for example "interval:100ms") syncs every D.
)

// LogConfig defines a log. Zero values take the server's defaults: file
// storage when the server has a data directory (memory otherwise), sync
// "always", no limits, no dedupe window.
type LogConfig struct {
	Name         string        `json:"name"`
	Subjects     []string      `json:"subjects"`             // subject patterns the log captures
	Storage      string        `json:"storage"`              // "file" or "memory"
	Sync         string        `json:"sync"`                 // "always", "never" or "interval:D"
	MaxAge       time.Duration `json:"max_age_ns,omitempty"` // drop records older than this
	MaxBytes     int64         `json:"max_bytes,omitempty"`
	MaxMsgs      uint64        `json:"max_msgs,omitempty"`
	DedupeWindow time.Duration `json:"dedupe_window_ns,omitempty"` // how long MsgIDHeader values are remembered
}

// LogInfo describes a log and its consumers.
type LogInfo struct {
	Config          LogConfig
	FirstSeq        uint64
	LastSeq         uint64
	Msgs            uint64
	Bytes           int64
	Consumers       []string       // the consumers' names
	FirstTime       time.Time      // of the first record; zero when empty
	LastTime        time.Time      // of the last record; zero when empty
	Segments        int            // storage segments
	ReadOnly        string         // why appends are refused; "" when writable
	Damaged         []SeqRange     // records found damaged in sealed segments; reading them fails
	ConsumerDetails []ConsumerInfo // the consumers, in the order of Consumers
}

// SeqRange is the sequences First to Last, both included.
type SeqRange struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// ConsumerInfo describes a consumer of a log.
type ConsumerInfo struct {
	Name           string
	Durable        bool
	Ack            string // "none", "each" or "cumulative"
	AckWait        time.Duration
	MaxDeliveries  int
	DeadLetter     string
	MaxAckPending  int    // at most this many deliveries await acknowledgement
	DeliverSubject string // where a push consumer's records go; "" for a pull consumer
	DeliverGroup   string // the queue group sharing a push consumer's records
	Delivered      uint64 // the last sequence delivered
	AckFloor       uint64 // every sequence up to this is acknowledged
	Pending        int    // deliveries awaiting acknowledgement
}

// logInfoJSON is the server's description of a log (list and info).
type logInfoJSON struct {
	Config LogConfig `json:"config"`
	State  struct {
		FirstSeq  uint64     `json:"first_seq"`
		LastSeq   uint64     `json:"last_seq"`
		FirstTime *time.Time `json:"first_time"`
		LastTime  *time.Time `json:"last_time"`
		Msgs      uint64     `json:"msgs"`
		Bytes     int64      `json:"bytes"`
		Segments  int        `json:"segments"`
		ReadOnly  string     `json:"read_only"`
		Damaged   []SeqRange `json:"damaged"`
	} `json:"state"`
	Consumers []consumerJSON `json:"consumers"`
}

func (j *logInfoJSON) info() LogInfo {
	st := &j.State
	in := LogInfo{Config: j.Config, FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, Msgs: st.Msgs,
		Bytes: st.Bytes, Segments: st.Segments, ReadOnly: st.ReadOnly, Damaged: st.Damaged}
	if st.FirstTime != nil {
		in.FirstTime = *st.FirstTime
	}
	if st.LastTime != nil {
		in.LastTime = *st.LastTime
	}
	for _, ci := range j.Consumers {
		in.Consumers = append(in.Consumers, ci.Name)
		in.ConsumerDetails = append(in.ConsumerDetails, ci.info())
	}
	return in
}

// CreateLog defines a log. A log of that name existing already is
// ErrLogExists; a bad definition ErrLogInvalid.
func (c *Conn) CreateLog(ctx context.Context, cfg LogConfig) error {
	if cfg.Subjects == nil {
		cfg.Subjects = []string{}
	}
	if err := c.logCall(ctx, wire.LogCreate, cfg, nil); err != nil {
		return fmt.Errorf("ferry: create log %q: %w", cfg.Name, err)
	}
	return nil
}

// DeleteLog deletes a log and its records and consumers.
func (c *Conn) DeleteLog(ctx context.Context, name string) error {
	if err := c.logCall(ctx, wire.LogDelete, logNameJSON{name}, nil); err != nil {
		return fmt.Errorf("ferry: delete log %q: %w", name, err)
	}
	return nil
}

// Logs describes every log.
func (c *Conn) Logs(ctx context.Context) ([]LogInfo, error) {
	var js []logInfoJSON
	if err := c.logCall(ctx, wire.LogList, struct{}{}, &js); err != nil {
		return nil, fmt.Errorf("ferry: list logs: %w", err)
	}
	out := make([]LogInfo, len(js))
	for i := range js {
		out[i] = js[i].info()
	}
	return out, nil
}

// LogInfo describes the log name; ErrLogNotFound when there is none.
func (c *Conn) LogInfo(ctx context.Context, name string) (*LogInfo, error) {
	var js logInfoJSON
	if err := c.logCall(ctx, wire.LogInfo, logNameJSON{name}, &js); err != nil {
		return nil, fmt.Errorf("ferry: log info %q: %w", name, err)
	}
	in := js.info()
	return &in, nil
}

type logNameJSON struct {
	Name string `json:"name"`
}

// ConsumerConfig names the consumer a Fetch reads through, or the push
// consumer Consume creates.
type ConsumerConfig struct {
	Log string
	// Name names a durable consumer, created on first use and kept across
	// restarts; "" makes an ephemeral one for the one fetch.
	Name string
	// Start is where a new consumer begins: "first" (the server's default),
	// "last", "new", "seq:N" or "time:RFC3339".
	Start string
	// Ack is "each" (the default), "cumulative" or "none".
	Ack string
	// AckWait is how long a delivery may go unacknowledged before it is
	// redelivered; 0 means 30 s. Millisecond precision.
	AckWait time.Duration
	// MaxDeliveries bounds the deliveries of one record (0: no bound);
	// a record reaching it goes to DeadLetter, a subject, if set.
	MaxDeliveries int
	DeadLetter    string
	// MaxAckPending caps the deliveries awaiting acknowledgement: at the
	// cap no new record is delivered (redeliveries still are) until an
	// ack makes room. 0 means the server's default, 1000.
	MaxAckPending int
	// DeliverSubject, for Consume, is the subject the server pushes the
	// records to; "" means "_PUSH.<log>.<consumer>". DeliverGroup is the
	// queue group the consuming clients share: each record goes to one of
	// them (a work queue). Without a group every subscriber of the subject
	// gets every record. Fetch leaves both empty.
	DeliverSubject string
	DeliverGroup   string
}

// LogRecord is a record read from a log by Fetch or pushed to Consume.
type LogRecord struct {
	Log        string
	Consumer   string // the durable consumer that read it; "" for an ephemeral one
	Seq        uint64
	Time       time.Time // when it was stored
	Subject    string
	Header     Header
	Data       []byte
	Deliveries int // 1 on the first delivery

	conn *Conn
}

// consumerSettingsJSON are the consumer fields of LOG fetch and consume.
type consumerSettingsJSON struct {
	Log           string `json:"log"`
	Consumer      string `json:"consumer"`
	Start         string `json:"start,omitempty"`
	Ack           string `json:"ack,omitempty"`
	AckWaitMs     int64  `json:"ack_wait_ms,omitempty"`
	MaxDeliveries int    `json:"max_deliveries,omitempty"`
	DeadLetter    string `json:"dead_letter,omitempty"`
	MaxAckPending int    `json:"max_ack_pending,omitempty"`
}

func (cc *ConsumerConfig) settingsJSON() consumerSettingsJSON {
	return consumerSettingsJSON{Log: cc.Log, Consumer: cc.Name, Start: cc.Start, Ack: cc.Ack,
		AckWaitMs: durationMs(cc.AckWait), MaxDeliveries: cc.MaxDeliveries, DeadLetter: cc.DeadLetter,
		MaxAckPending: cc.MaxAckPending}
}

type fetchJSON struct {
	consumerSettingsJSON
	Max    int   `json:"max,omitempty"`
	WaitMs int64 `json:"wait_ms,omitempty"`
}

type fetchAnswerJSON struct {
	Consumer string `json:"consumer"`
	Records  []struct {
		Seq        uint64    `json:"seq"`
		Time       time.Time `json:"time"`
		Subject    string    `json:"subject"`
		Headers    []byte    `json:"headers"`
		Payload    []byte    `json:"payload"`
		Deliveries int       `json:"deliveries"`
	} `json:"records"`
}

// durationMs is d in whole milliseconds, rounded up so that a positive d
// stays positive.
func durationMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// Fetch reads at most max records (0: the server's default, 100) from
// cc.Log through the consumer cc describes. With wait > 0 the server waits
// up to wait (at most 5 minutes) for a record when there is none; ctx
// bounds the whole call. No records is not an error.
func (c *Conn) Fetch(ctx context.Context, cc ConsumerConfig, max int, wait time.Duration) ([]*LogRecord, error) {
	if max < 0 || wait < 0 || cc.AckWait < 0 || cc.MaxAckPending < 0 {
		return nil, fmt.Errorf("ferry: fetch from log %q: %w: negative max, wait, ack wait or max ack pending", cc.Log, ErrLogInvalid)
	}
	if cc.DeliverSubject != "" || cc.DeliverGroup != "" {
		return nil, fmt.Errorf("ferry: fetch from log %q: %w: a deliver subject or group is for Consume", cc.Log, ErrLogInvalid)
	}
	req := fetchJSON{consumerSettingsJSON: cc.settingsJSON(), Max: max, WaitMs: durationMs(wait)}
	var ans fetchAnswerJSON
	if err := c.logCall(ctx, wire.LogFetch, req, &ans); err != nil {
		return nil, fmt.Errorf("ferry: fetch from log %q: %w", cc.Log, err)
	}
	out := make([]*LogRecord, len(ans.Records))
	for i, r := range ans.Records {
		rec := &LogRecord{Log: cc.Log, Consumer: ans.Consumer, Seq: r.Seq, Time: r.Time,
			Subject: r.Subject, Data: r.Payload, Deliveries: r.Deliveries, conn: c}
		if rec.Data == nil {
			rec.Data = []byte{}
		}
		if len(r.Headers) > 0 {
			hs, err := wire.ParseHeaders(r.Headers)
			if err != nil {
				return nil, fmt.Errorf("ferry: fetch from log %q: %w: record %d: %w", cc.Log, ErrProtocol, r.Seq, err)
			}
			for _, h := range hs {
				rec.Header = append(rec.Header, HeaderField(h))
			}
		}
		out[i] = rec
	}
	return out, nil
}

type logAckJSON struct {
	Log      string `json:"log"`
	Consumer string `json:"consumer"`
	Seq      uint64 `json:"seq"`
}

// Ack acknowledges r: its consumer will not deliver it again. Records of an
// ephemeral consumer cannot be acknowledged (ErrLogInvalid). Acknowledging
// twice is not an error.
func (r *LogRecord) Ack(ctx context.Context) error { return r.ackAction(ctx, wire.LogAck, "ack") }

// Nak asks for r to be delivered again now rather than after the ack wait.
func (r *LogRecord) Nak(ctx context.Context) error { return r.ackAction(ctx, wire.LogNak, "nak") }

func (r *LogRecord) ackAction(ctx context.Context, a wire.LogAction, what string) error {
	if r.conn == nil {
		return fmt.Errorf("ferry: %s: %w: record not from Fetch or Consume", what, ErrLogInvalid)
	}
	if r.Consumer == "" {
		return fmt.Errorf("ferry: %s log %q seq %d: %w: the record came from an ephemeral consumer", what, r.Log, r.Seq, ErrLogInvalid)
	}
	if err := r.conn.logCall(ctx, a, logAckJSON{r.Log, r.Consumer, r.Seq}, nil); err != nil {
		return fmt.Errorf("ferry: %s log %q consumer %q seq %d: %w", what, r.Log, r.Consumer, r.Seq, err)
	}
	return nil
}

// AckUpTo acknowledges every delivery of the durable consumer of log up to
// and including seq.
func (c *Conn) AckUpTo(ctx context.Context, log, consumer string, seq uint64) error {
	if err := c.logCall(ctx, wire.LogAckUpTo, logAckJSON{log, consumer, seq}, nil); err != nil {
		return fmt.Errorf("ferry: ack log %q consumer %q up to %d: %w", log, consumer, seq, err)
	}
	return nil
}

// logCall sends a LOG frame with req as its JSON body, waits for the RESULT
// and decodes it into v (unless v is nil).
func (c *Conn) logCall(ctx context.Context, action wire.LogAction, req, v any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	l := &wire.Log{Ref: c.nextRef.Add(1), Action: action, Body: body}
	answer := c.addRef(l.Ref)
	if _, err := c.w.appendCtl(l, true); err != nil {
		c.dropRef(l.Ref)
		return err
	}
	res, err := c.awaitRef(ctx, l.Ref, answer)
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		return fmt.Errorf("%w: RESULT: %w", ErrProtocol, err)
	}
	return nil
}
