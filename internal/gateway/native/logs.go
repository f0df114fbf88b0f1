package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/wire"
)

// Logs is what the gateway needs of the durable logs to answer LOG
// frames; *logs.Manager implements it.
type Logs interface {
	Create(cfg logs.LogConfig) error
	Delete(name string) error
	List() []logs.LogInfo
	Info(name string) (logs.LogInfo, error)
	Consumer(cfg logs.ConsumerConfig) (*logs.Consumer, error)
	OpenConsumer(log, name string) (*logs.Consumer, error)
	DeleteConsumer(log, name string) error
}

// Limits on one LOG fetch.
const (
	maxFetchRecords = 10000
	maxFetchWait    = 5 * time.Minute
)

// LOG request bodies (docs/protocol.md, "Logs").
type (
	logName struct {
		Name string `json:"name"`
	}
	// consumerSettings are the fields of fetch and consume that configure
	// the consumer.
	consumerSettings struct {
		Log           string `json:"log"`
		Consumer      string `json:"consumer"`
		Start         string `json:"start"`
		Ack           string `json:"ack"`
		AckWaitMs     int64  `json:"ack_wait_ms"`
		MaxDeliveries int    `json:"max_deliveries"`
		DeadLetter    string `json:"dead_letter"`
		MaxAckPending int    `json:"max_ack_pending"`
	}
	logFetch struct {
		consumerSettings
		Max    int   `json:"max"`
		WaitMs int64 `json:"wait_ms"`
	}
	// logConsume creates or opens a push consumer.
	logConsume struct {
		consumerSettings
		DeliverSubject string `json:"deliver_subject"`
		DeliverGroup   string `json:"deliver_group"`
	}
	logConsumerName struct {
		Log      string `json:"log"`
		Consumer string `json:"consumer"`
	}
	logAckReq struct {
		Log      string `json:"log"`
		Consumer string `json:"consumer"`
		Seq      uint64 `json:"seq"`
	}
)

// LOG answers (RESULT bodies).
type (
	// LogInfoJSON describes a log in the answers to list and info.
	LogInfoJSON struct {
		Config    logs.LogConfig `json:"config"`
		State     LogStateJSON   `json:"state"`
		Consumers []ConsumerJSON `json:"consumers"`
	}
	// LogStateJSON is a log's storage state.
	LogStateJSON struct {
		FirstSeq  uint64           `json:"first_seq"`
		LastSeq   uint64           `json:"last_seq"`
		FirstTime *time.Time       `json:"first_time,omitempty"`
		LastTime  *time.Time       `json:"last_time,omitempty"`
		Msgs      uint64           `json:"msgs"`
		Bytes     int64            `json:"bytes"`
		Segments  int              `json:"segments"`
		ReadOnly  string           `json:"read_only,omitempty"` // why appends are refused
		Damaged   []logstore.Range `json:"damaged,omitempty"`
	}
	// ConsumerJSON describes a consumer.
	ConsumerJSON struct {
		Name          string `json:"name"`
		Durable       bool   `json:"durable"`
		Ack           string `json:"ack"`
		AckWaitMs     int64  `json:"ack_wait_ms"`
		MaxDeliveries int    `json:"max_deliveries"`
		DeadLetter    string `json:"dead_letter"`
		MaxAckPending int    `json:"max_ack_pending"`
		// DeliverSubject and DeliverGroup are set for a push consumer.
		DeliverSubject string `json:"deliver_subject,omitempty"`
		DeliverGroup   string `json:"deliver_group,omitempty"`
		Delivered      uint64 `json:"delivered"`
		AckFloor       uint64 `json:"ack_floor"`
		Pending        int    `json:"pending"`
	}
	// FetchJSON answers a fetch.
	FetchJSON struct {
		Consumer string       `json:"consumer"`
		Records  []RecordJSON `json:"records"`
	}
	// RecordJSON is one delivered record; Headers (an encoded header block)
	// and Payload are base64 in JSON.
	RecordJSON struct {
		Seq        uint64    `json:"seq"`
		Time       time.Time `json:"time"`
		Subject    string    `json:"subject"`
		Headers    []byte    `json:"headers,omitempty"`
		Payload    []byte    `json:"payload"`
		Deliveries int       `json:"deliveries"`
	}
)

// handleLog answers a LOG frame with RESULT or ERR. A fetch that may wait
// runs on its own goroutine so the connection keeps reading; everything
// else is answered in order.
func (c *conn) handleLog(body []byte) error {
	var l wire.Log
	if err := l.Decode(body); err != nil {
		return err
	}
	lg := c.g.cfg.Logs
	if lg == nil {
		c.sendErr(l.Ref, wire.CodeNotSupported, "this server has no durable logs")
		return nil
	}
	if l.Action == wire.LogFetch {
		var f logFetch
		if err := decodeJSON(l.Body, &f); err != nil {
			c.sendLogErr(l.Ref, err)
			return nil
		}
		// The consumer is opened here, in frame order (a "new" start
		// means new after this frame); only the wait runs apart.
		cons, err := openFetch(lg, f)
		if err != nil {
			c.sendLogErr(l.Ref, err)
			return nil
		}
		if f.WaitMs <= 0 {
			v, err := fetch(c.ctx, cons, f)
			c.answerLog(l.Ref, v, err)
			return nil
		}
		ref := l.Ref
		c.g.wg.Add(1) // the read loop's own count keeps the group above zero
		go func() {
			defer c.g.wg.Done()
			v, err := fetch(c.ctx, cons, f)
			c.answerLog(ref, v, err)
		}()
		return nil
	}
	v, err := logAction(lg, l.Action, l.Body)
	c.answerLog(l.Ref, v, err)
	return nil
}

func (c *conn) answerLog(ref uint64, v any, err error) {
	if err != nil {
		c.sendLogErr(ref, err)
		return
	}
	js, err := json.Marshal(v)
	if err != nil {
		c.sendErr(ref, wire.CodeNotSupported, fmt.Sprintf("encoding the answer: %v", err))
		return
	}
	c.queue(func(b []byte) []byte { return (&wire.Result{Ref: ref, Body: js}).Append(b) })
}

func (c *conn) sendLogErr(ref uint64, err error) { c.sendErr(ref, logCode(err), err.Error()) }

// logAction runs every action but fetch.
func logAction(lg Logs, action wire.LogAction, body []byte) (any, error) {
	switch action {
	case wire.LogCreate:
		var cfg logs.LogConfig
		if err := decodeJSON(body, &cfg); err != nil {
			return nil, err
		}
		if err := lg.Create(cfg); err != nil {
			return nil, err
		}
		return lg.Info(cfg.Name)
	case wire.LogDelete:
		var n logName
		if err := decodeJSON(body, &n); err != nil {
			return nil, err
		}
		return struct{}{}, lg.Delete(n.Name)
	case wire.LogList:
		infos := lg.List()
		out := make([]LogInfoJSON, len(infos))
		for i, in := range infos {
			out[i] = logInfoJSON(in)
		}
		return out, nil
	case wire.LogInfo:
		var n logName
		if err := decodeJSON(body, &n); err != nil {
			return nil, err
		}
		in, err := lg.Info(n.Name)
		if err != nil {
			return nil, err
		}
		return logInfoJSON(in), nil
	case wire.LogConsume:
		var req logConsume
		if err := decodeJSON(body, &req); err != nil {
			return nil, err
		}
		return openPush(lg, req)
	case wire.LogDeleteConsumer:
		var n logConsumerName
		if err := decodeJSON(body, &n); err != nil {
			return nil, err
		}
		return struct{}{}, lg.DeleteConsumer(n.Log, n.Consumer)
	case wire.LogAck, wire.LogAckUpTo, wire.LogNak:
		var a logAckReq
		if err := decodeJSON(body, &a); err != nil {
			return nil, err
		}
		cons, err := lg.OpenConsumer(a.Log, a.Consumer)
		if err != nil {
			return nil, err
		}
		defer cons.Close()
		switch action {
		case wire.LogAck:
			err = cons.AckSeq(a.Seq)
		case wire.LogAckUpTo:
			err = cons.AckUpTo(a.Seq)
		default:
			err = cons.NakSeq(a.Seq)
		}
		return struct{}{}, err
	}
	return nil, fmt.Errorf("%w: log action %v", logs.ErrInvalid, action)
}

// openFetch opens the consumer a fetch names, an ephemeral one when it
// names none.
func openFetch(lg Logs, f logFetch) (*logs.Consumer, error) {
	if f.WaitMs < 0 || f.Max < 0 {
		return nil, fmt.Errorf("%w: negative wait_ms or max", logs.ErrInvalid)
	}
	cfg, err := consumerConfig(logConsume{consumerSettings: f.consumerSettings})
	if err != nil {
		return nil, err
	}
	return lg.Consumer(cfg)
}

// openPush creates or opens the durable push consumer req describes and
// describes it. The consumer outlives the request: the manager pushes its
// records until it is deleted.
func openPush(lg Logs, req logConsume) (any, error) {
	if req.Consumer == "" {
		return nil, fmt.Errorf("%w: a push consumer needs a name", logs.ErrInvalid)
	}
	if req.DeliverSubject == "" {
		return nil, fmt.Errorf("%w: a push consumer needs a deliver_subject", logs.ErrInvalid)
	}
	cfg, err := consumerConfig(req)
	if err != nil {
		return nil, err
	}
	cons, err := lg.Consumer(cfg)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	return consumerJSON(cons.Info()), nil
}

// consumerConfig turns a request's consumer fields into a config.
func consumerConfig(r logConsume) (logs.ConsumerConfig, error) {
	start, err := logs.ParseStart(r.Start)
	if err != nil {
		return logs.ConsumerConfig{}, err
	}
	ack := logs.AckEach
	if r.Ack != "" {
		if ack, err = logs.ParseAckMode(r.Ack); err != nil {
			return logs.ConsumerConfig{}, err
		}
	}
	if r.AckWaitMs < 0 || r.MaxAckPending < 0 {
		return logs.ConsumerConfig{}, fmt.Errorf("%w: negative ack_wait_ms or max_ack_pending", logs.ErrInvalid)
	}
	return logs.ConsumerConfig{
		Log: r.Log, Name: r.Consumer, Start: start, Ack: ack,
		AckWait:       time.Duration(r.AckWaitMs) * time.Millisecond,
		MaxDeliveries: r.MaxDeliveries, DeadLetter: r.DeadLetter, MaxAckPending: r.MaxAckPending,
		DeliverSubject: r.DeliverSubject, DeliverGroup: r.DeliverGroup,
	}, nil
}

// fetch reads from cons and closes it (which ends an ephemeral consumer).
func fetch(ctx context.Context, cons *logs.Consumer, f logFetch) (any, error) {
	defer cons.Close()
	max := f.Max
	if max == 0 {
		max = 100
	}
	max = min(max, maxFetchRecords)
	wait := min(time.Duration(f.WaitMs)*time.Millisecond, maxFetchWait)
	ds, err := cons.Fetch(ctx, max, wait)
	if err != nil {
		return nil, err
	}
	out := FetchJSON{Records: make([]RecordJSON, len(ds))}
	if f.Consumer != "" {
		out.Consumer = cons.Name()
	}
	for i, d := range ds {
		r := d.Record
		out.Records[i] = RecordJSON{Seq: r.Seq, Time: r.Time, Subject: r.Subject,
			Headers: r.Headers, Payload: r.Payload, Deliveries: d.Deliveries}
	}
	return out, nil
}

func logInfoJSON(in logs.LogInfo) LogInfoJSON {
	st := in.State
	out := LogInfoJSON{Config: in.Config, Consumers: make([]ConsumerJSON, len(in.Consumers)),
		State: LogStateJSON{FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, Msgs: st.Msgs,
			Bytes: st.Bytes, Segments: st.Segments, Damaged: st.Damaged}}
	if !st.FirstTime.IsZero() {
		out.State.FirstTime = &st.FirstTime
	}
	if !st.LastTime.IsZero() {
		out.State.LastTime = &st.LastTime
	}
	if st.ReadOnly != nil {
		out.State.ReadOnly = st.ReadOnly.Error()
	}
	for i, ci := range in.Consumers {
		out.Consumers[i] = consumerJSON(ci)
	}
	return out
}

func consumerJSON(ci logs.ConsumerInfo) ConsumerJSON {
	c := ci.Config
	return ConsumerJSON{Name: ci.Name, Durable: ci.Durable, Ack: c.Ack.String(),
		AckWaitMs: c.AckWait.Milliseconds(), MaxDeliveries: c.MaxDeliveries, DeadLetter: c.DeadLetter,
		MaxAckPending: c.MaxAckPending, DeliverSubject: c.DeliverSubject, DeliverGroup: c.DeliverGroup,
		Delivered: ci.Delivered, AckFloor: ci.AckFloor, Pending: ci.Pending}
}

// decodeJSON decodes a request body strictly: unknown fields are errors,
// and an empty body is an empty object.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %v", logs.ErrInvalid, err)
	}
	if d.More() {
		return fmt.Errorf("%w: request body: trailing data", logs.ErrInvalid)
	}
	return nil
}

// logCode maps an error from the durable logs to its wire code.
func logCode(err error) wire.Code {
	switch {
	case errors.Is(err, logs.ErrNotFound):
		return wire.CodeLogNotFound
	case errors.Is(err, logs.ErrExists):
		return wire.CodeLogExists
	case errors.Is(err, logs.ErrInvalid):
		return wire.CodeLogInvalid
	case errors.Is(err, logs.ErrClosed), errors.Is(err, logstore.ErrReadOnly),
		errors.Is(err, logstore.ErrClosed), errors.Is(err, logstore.ErrTooLarge):
		return wire.CodeLogReadOnly
	}
	return wire.CodeLogReadOnly // I/O failures storing a log's or consumer's state
}
