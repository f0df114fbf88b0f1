package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

const (
	// readBatch is how many records one Fetch asks for.
	readBatch = 100
	// consumePoll is how long one Fetch of "log consume" waits for records
	// when it runs until interrupted.
	consumePoll = 30 * time.Second
)

// logReadFlags are the flags "log read" and "log consume" share.
type logReadFlags struct {
	from  string
	count int
	wait  time.Duration
	json  bool
}

func (f *logReadFlags) add(cmd *cobra.Command, waitHelp string) {
	cmd.Flags().StringVar(&f.from, "from", "first", "where to start: first, last, new, a sequence, or an RFC 3339 time")
	cmd.Flags().IntVarP(&f.count, "count", "n", 0, "exit after this many records (0: no limit)")
	cmd.Flags().DurationVar(&f.wait, "wait", 0, waitHelp)
	cmd.Flags().BoolVar(&f.json, "json", false, "print each record as a JSON object")
}

// check validates the flags and returns the consumer start position.
func (f *logReadFlags) check() (string, error) {
	if err := checkCount(f.count); err != nil {
		return "", err
	}
	if f.wait < 0 {
		return "", usageErrorf("--wait must not be negative, got %s", f.wait)
	}
	return parseFrom(f.from)
}

// parseFrom turns --from into a consumer start: first, last, new, seq:N or
// time:RFC3339. It accepts those forms and a bare sequence or time.
func parseFrom(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "first", "last", "new":
		return s, nil
	}
	seqText, isSeq := strings.CutPrefix(s, "seq:")
	if !isSeq && s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "T:-") {
		seqText, isSeq = s, true
	}
	if isSeq {
		n, err := strconv.ParseUint(seqText, 10, 64)
		if err != nil || n == 0 {
			return "", usageErrorf("--from %q: a sequence is a whole number from 1", s)
		}
		return "seq:" + strconv.FormatUint(n, 10), nil
	}
	timeText := strings.TrimPrefix(s, "time:")
	t, err := time.Parse(time.RFC3339Nano, timeText)
	if err != nil {
		return "", usageErrorf("--from %q: want first, last, new, a sequence, or an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
	}
	return "time:" + t.UTC().Format(time.RFC3339Nano), nil
}

const logRecordHelp = `Each record is printed as "SEQ SUBJECT: PAYLOAD" (followed by a newline
unless the payload ends with one). With --json each record is one JSON
object per line:
  {"seq":1,"time":"2026-01-02T15:04:05.123Z","subject":"...",
   "headers":{"key":["value",...]},"payload":"...","deliveries":1}
"payload" holds the payload as a string when it is valid UTF-8; otherwise it
is absent and "payload_base64" holds it in standard base64. "deliveries"
(consume only) counts the deliveries of the record to the consumer.`

// jsonRecord is the --json form of a log record.
type jsonRecord struct {
	Seq           uint64              `json:"seq"`
	Time          time.Time           `json:"time"`
	Subject       string              `json:"subject"`
	Headers       map[string][]string `json:"headers"`
	Payload       *string             `json:"payload,omitempty"`
	PayloadBase64 []byte              `json:"payload_base64,omitempty"`
	Deliveries    int                 `json:"deliveries,omitempty"`
}

// writeRecord prints r as one line in a single Write.
func writeRecord(w io.Writer, r *ferry.LogRecord, asJSON, deliveries bool) error {
	var b bytes.Buffer
	if asJSON {
		j := jsonRecord{Seq: r.Seq, Time: r.Time, Subject: r.Subject, Headers: map[string][]string{}}
		for _, f := range r.Header {
			j.Headers[f.Key] = append(j.Headers[f.Key], f.Value)
		}
		if utf8.Valid(r.Data) {
			s := string(r.Data)
			j.Payload = &s
		} else {
			j.PayloadBase64 = r.Data
		}
		if deliveries {
			j.Deliveries = r.Deliveries
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(j); err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
	} else {
		fmt.Fprintf(&b, "%d %s: ", r.Seq, r.Subject)
		b.Write(r.Data)
		if len(r.Data) == 0 || r.Data[len(r.Data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// batchSize is how many records to fetch next, given how many were printed.
func batchSize(count, printed int) int {
	if count > 0 {
		return min(readBatch, count-printed)
	}
	return readBatch
}

// ---- read ----

type logReadCmd struct {
	app    *app
	client *clientFlags
	flags  logReadFlags
}

func newLogReadCmd(a *app) *cobra.Command {
	c := &logReadCmd{app: a}
	cmd := &cobra.Command{
		Use:   "read NAME",
		Short: "Print a log's records from a position",
		Long: `Print the records of the log NAME from --from: first (the default), last
(the newest record), new (only records stored from now on), a sequence, or
an RFC 3339 time (the first record stored at or after it). Reading keeps no
position on the broker; see "ferry log consume" for that.

Exits after --count records, or once no record arrives within --wait (by
default 0: as soon as it has caught up with the log), or on SIGINT.

` + logRecordHelp,
		Example: `  ferry log read orders
  ferry log read orders --from 42 --count 10
  ferry log read orders --from 2026-01-02T15:00:00Z --json
  ferry log read orders --from new --wait 1m`,
		Args: positional([]string{"NAME"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, err := c.flags.check()
			if err != nil {
				return err
			}
			return c.run(cmd.Context(), args[0], start)
		},
	}
	c.client = addClientFlags(cmd)
	c.flags.add(cmd, "stop when no record arrives within this long (0: once caught up)")
	return cmd
}

func (c *logReadCmd) run(ctx context.Context, name, start string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	if start == "new" {
		// Each fetch reads through a new ephemeral consumer, so pin "new"
		// to a sequence now rather than at every fetch.
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		info, err := nc.LogInfo(qctx, name)
		cancel()
		if err != nil {
			return stopped(ctx, logError(name, err))
		}
		start = "seq:" + strconv.FormatUint(info.LastSeq+1, 10)
	}
	for printed := 0; c.flags.count == 0 || printed < c.flags.count; {
		fctx, cancel := context.WithTimeout(ctx, c.flags.wait+queryTimeout)
		recs, err := nc.Fetch(fctx, ferry.ConsumerConfig{Log: name, Start: start, Ack: "none"},
			batchSize(c.flags.count, printed), c.flags.wait)
		cancel()
		if err != nil {
			return stopped(ctx, logError(name, err))
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			if err := writeRecord(c.app.stdout, r, c.flags.json, false); err != nil {
				return err
			}
			printed++
			start = "seq:" + strconv.FormatUint(r.Seq+1, 10)
		}
	}
	return nil
}

// stopped returns nil when err happened because ctx ended (SIGINT is the
// normal way to stop a reader), else err.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ---- consume ----

type logConsumeCmd struct {
	app           *app
	client        *clientFlags
	flags         logReadFlags
	ack           bool
	push          bool
	group         string
	maxAckPending int
}

func newLogConsumeCmd(a *app) *cobra.Command {
	c := &logConsumeCmd{app: a}
	cmd := &cobra.Command{
		Use:   "consume NAME CONSUMER",
		Short: "Read a log through a durable consumer that keeps its position",
		Long: `Print the records of the log NAME through the durable consumer CONSUMER,
created on first use at --from (first, last, new, a sequence, or an RFC 3339
time; ignored once the consumer exists). The broker keeps the consumer's
position, so the next "ferry log consume" goes on where this one stopped.
Several processes consuming through one CONSUMER share its records, each
record going to one of them.

Without --ack records count as done once delivered. With --ack each record
is acknowledged after it is printed; a record delivered but not acknowledged
(the command was killed) is delivered again after the broker's ack wait.
A consumer keeps the ack mode it was created with: use --ack always or never.

By default the command pulls batches of records. With --push the consumer
is a push consumer: the broker sends its records to the subject
_PUSH.NAME.CONSUMER as they are stored, at most --max-ack-pending
unacknowledged at a time, and redelivers after the ack wait. Processes
consuming with the same --group share the records (each record goes to one
of them); without --group each gets every record. A push consumer stays a
push consumer (with its group): it cannot be read without --push. With
--count, records pushed after the last one printed are not acknowledged, so
they are delivered again after the ack wait with --ack, and lost to this
consumer without it.

Exits after --count records, on SIGINT (status 0), or, with --wait, once no
record arrives within that long.

` + logRecordHelp,
		Example: `  ferry log consume orders billing --ack
  ferry log consume orders audit --from 2026-01-02T00:00:00Z --json
  ferry log consume orders billing --ack --count 10 --wait 5s
  ferry log consume orders billing --push --group workers --ack`,
		Args: positional([]string{"NAME", "CONSUMER"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, err := c.flags.check()
			if err != nil {
				return err
			}
			if c.group != "" && !c.push {
				return usageErrorf("--group needs --push")
			}
			if c.maxAckPending < 0 {
				return usageErrorf("--max-ack-pending must not be negative, got %d", c.maxAckPending)
			}
			if c.push {
				return c.runPush(cmd.Context(), args[0], args[1], start)
			}
			return c.run(cmd.Context(), args[0], args[1], start)
		},
	}
	c.client = addClientFlags(cmd)
	c.flags.add(cmd, "stop when no record arrives within this long (0: wait until interrupted)")
	cmd.Flags().BoolVar(&c.ack, "ack", false, "acknowledge each record after printing it")
	cmd.Flags().BoolVar(&c.push, "push", false, "have the broker push the records (a push consumer)")
	cmd.Flags().StringVar(&c.group, "group", "", "with --push: the queue group sharing the records")
	cmd.Flags().IntVar(&c.maxAckPending, "max-ack-pending", 0, "unacknowledged records at most, when the consumer is created (0: the broker's default, 1000)")
	return cmd
}

func (c *logConsumeCmd) run(ctx context.Context, name, consumer, start string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	cc := c.config(name, consumer, start)
	wait := c.flags.wait
	if wait == 0 {
		wait = consumePoll
	}
	for printed := 0; c.flags.count == 0 || printed < c.flags.count; {
		if ctx.Err() != nil {
			return nil
		}
		fctx, cancel := context.WithTimeout(ctx, wait+queryTimeout)
		recs, err := nc.Fetch(fctx, cc, batchSize(c.flags.count, printed), wait)
		cancel()
		if errors.Is(err, ferry.ErrLogExists) {
			return fmt.Errorf("%w (a consumer keeps the --ack, --push, --group and --max-ack-pending settings it was created with)", err)
		}
		if err != nil {
			return stopped(ctx, logError(name, err))
		}
		if len(recs) == 0 {
			if c.flags.wait > 0 {
				return nil
			}
			continue
		}
		for _, r := range recs {
			if err := writeRecord(c.app.stdout, r, c.flags.json, true); err != nil {
				return err
			}
			printed++
			if c.ack {
				// Acknowledge what was printed even when interrupted meanwhile.
				actx, cancel := context.WithTimeout(context.Background(), queryTimeout)
				err := r.Ack(actx)
				cancel()
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// config is the consumer the flags describe.
func (c *logConsumeCmd) config(name, consumer, start string) ferry.ConsumerConfig {
	cc := ferry.ConsumerConfig{Log: name, Name: consumer, Start: start, Ack: "none", MaxAckPending: c.maxAckPending}
	if c.ack {
		cc.Ack = "each"
	}
	if c.push {
		cc.DeliverGroup = c.group
	}
	return cc
}

// runPush consumes through a push consumer: the handler prints (and
// acknowledges) each record on the subscription's goroutine and reports
// it; this goroutine counts and watches --wait and SIGINT.
func (c *logConsumeCmd) runPush(ctx context.Context, name, consumer, start string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	var (
		printed  = make(chan struct{}, 1)
		failed   = make(chan error, 1)
		n        atomic.Int64 // records printed
		stopping atomic.Bool
		inFlight sync.Mutex // held while a record is printed and acknowledged
	)
	handle := func(r *ferry.LogRecord) {
		inFlight.Lock()
		defer inFlight.Unlock()
		if stopping.Load() || (c.flags.count > 0 && n.Load() >= int64(c.flags.count)) {
			return
		}
		if err := writeRecord(c.app.stdout, r, c.flags.json, true); err != nil {
			stopping.Store(true)
			failed <- err
			return
		}
		if c.ack {
			actx, cancel := context.WithTimeout(context.Background(), queryTimeout)
			err := r.Ack(actx)
			cancel()
			if err != nil {
				stopping.Store(true)
				failed <- err
				return
			}
		}
		n.Add(1)
		select {
		case printed <- struct{}{}:
		default: // the main loop has one wake-up pending already
		}
	}
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	pc, err := nc.Consume(qctx, c.config(name, consumer, start), handle)
	cancel()
	if errors.Is(err, ferry.ErrLogExists) {
		return fmt.Errorf("%w (a consumer keeps the --ack, --push, --group and --max-ack-pending settings it was created with)", err)
	}
	if err != nil {
		return stopped(ctx, logError(name, err))
	}
	defer func() {
		// Let a record being printed finish its acknowledgement.
		stopping.Store(true)
		inFlight.Lock()
		inFlight.Unlock()
		pc.Stop()
	}()
	var idle <-chan time.Time
	var timer *time.Timer
	if c.flags.wait > 0 {
		timer = time.NewTimer(c.flags.wait)
		defer timer.Stop()
		idle = timer.C
	}
	for {
		select {
		case <-printed:
			if c.flags.count > 0 && n.Load() >= int64(c.flags.count) {
				return nil
			}
			if timer != nil {
				timer.Reset(c.flags.wait)
			}
		case err := <-failed:
			return err
		case <-idle:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}
