package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

// addLogCmd adds "ferry log" and its help group to root.
func addLogCmd(root *cobra.Command, a *app) {
	root.AddGroup(&cobra.Group{ID: "logs", Title: "Log commands:"})
	c := newLogCmd(a)
	c.GroupID = "logs"
	root.AddCommand(c)
}

func newLogCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Manage durable logs, publish to them and read them back",
		Long: `A log is a durable, append-only, replayable sequence of records on a set of
subjects (see docs/logs.md). Every plain publish whose subject a log captures
is stored in it before it is delivered live, numbered by sequence from 1.

  create    define a log on subject patterns
  ls        list the logs
  info      show one log
  rm        delete a log, its consumers and its data
  pub       publish and wait until the record is stored; print its sequence
  read      replay records (an ephemeral reader)
  consume   read through a named, durable consumer that remembers its position
            (pulled in batches, or pushed by the broker with --push)`,
		Example: `  ferry log create orders --subjects 'orders.>' --max-age 24h
  ferry log pub orders.eu.created '{"id":1}'
  ferry log read orders --from first
  ferry log consume orders billing --ack
  ferry log consume orders shipping --push --group workers --ack
  ferry log ls
  ferry log rm orders`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newLogCreateCmd(a), newLogLsCmd(a), newLogInfoCmd(a), newLogRmCmd(a),
		newLogPubCmd(a), newLogReadCmd(a), newLogConsumeCmd(a))
	return cmd
}

// logError words a missing log plainly: "log NAME not found".
func logError(name string, err error) error {
	if errors.Is(err, ferry.ErrLogNotFound) {
		return fmt.Errorf("log %s not found", name)
	}
	return err
}

// ---- create ----

type logCreateCmd struct {
	app          *app
	client       *clientFlags
	subjects     []string
	maxAge       time.Duration
	maxBytes     string
	maxMsgs      uint64
	storage      string
	sync         string
	dedupeWindow time.Duration
}

func newLogCreateCmd(a *app) *cobra.Command {
	c := &logCreateCmd{app: a}
	cmd := &cobra.Command{
		Use:   "create NAME --subjects PATTERN...",
		Short: "Define a log capturing subject patterns",
		Long: `Define the log NAME (1-64 of A-Z a-z 0-9 - _) capturing every plain publish
whose subject matches one of the --subjects patterns. Retention limits are
floors (whole segments are removed); zero means unlimited.

--storage is file (the default when the broker has a data directory) or
memory. --sync is always (fsync before the publish is acknowledged, the
default), interval:D (fsync every D) or never. --dedupe-window D drops a
publish whose Ferry-Msg-Id header was stored less than D ago.

Prints "created log NAME on PATTERNS" to stderr.`,
		Example: `  ferry log create orders --subjects 'orders.>'
  ferry log create metrics --subjects 'metrics.*' --subjects 'health.>' --max-age 24h --max-bytes 1GiB
  ferry log create events --subjects 'events.>' --sync interval:200ms --dedupe-window 2m`,
		Args: positional([]string{"NAME"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.config(args[0])
			if err != nil {
				return err
			}
			return c.run(cmd.Context(), cfg)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&c.subjects, "subjects", nil, "subject pattern the log captures (repeatable; required)")
	f.DurationVar(&c.maxAge, "max-age", 0, "remove records older than this (0: no limit)")
	f.StringVar(&c.maxBytes, "max-bytes", "", "keep at most about this many bytes, e.g. 512MiB (default: no limit)")
	f.Uint64Var(&c.maxMsgs, "max-msgs", 0, "keep at most about this many records (0: no limit)")
	f.StringVar(&c.storage, "storage", "", "file or memory (default: file when the broker has a data directory)")
	f.StringVar(&c.sync, "sync", "", "always, interval:D or never (default always)")
	f.DurationVar(&c.dedupeWindow, "dedupe-window", 0, "drop repeated Ferry-Msg-Id headers within this window (0: off)")
	return cmd
}

// config checks the flags and builds the log's configuration.
func (c *logCreateCmd) config(name string) (ferry.LogConfig, error) {
	cfg := ferry.LogConfig{Name: name, MaxAge: c.maxAge, MaxMsgs: c.maxMsgs, DedupeWindow: c.dedupeWindow}
	var subjects []string
	for _, s := range c.subjects {
		if s = strings.TrimSpace(s); s != "" {
			subjects = append(subjects, s)
		}
	}
	if len(subjects) == 0 {
		return cfg, usageErrorf("--subjects is required")
	}
	cfg.Subjects = subjects
	if c.maxAge < 0 {
		return cfg, usageErrorf("--max-age must not be negative, got %s", c.maxAge)
	}
	if c.dedupeWindow < 0 {
		return cfg, usageErrorf("--dedupe-window must not be negative, got %s", c.dedupeWindow)
	}
	if c.maxBytes != "" {
		n, err := parseSize(c.maxBytes)
		if err != nil {
			return cfg, usageErrorf("--max-bytes: %v", err)
		}
		cfg.MaxBytes = int64(n)
	}
	switch c.storage {
	case "", "file", "memory":
		cfg.Storage = c.storage
	default:
		return cfg, usageErrorf("--storage must be file or memory, got %q", c.storage)
	}
	if err := checkSync(c.sync); err != nil {
		return cfg, err
	}
	cfg.Sync = c.sync
	return cfg, nil
}

// checkSync validates a --sync policy: always, never or interval:D.
func checkSync(s string) error {
	switch s {
	case "", "always", "never":
		return nil
	}
	if d, ok := strings.CutPrefix(s, "interval:"); ok {
		if v, err := time.ParseDuration(d); err == nil && v > 0 {
			return nil
		}
		return usageErrorf("--sync %q: the interval must be a positive duration such as interval:200ms", s)
	}
	return usageErrorf("--sync must be always, interval:D or never, got %q", s)
}

func (c *logCreateCmd) run(ctx context.Context, cfg ferry.LogConfig) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if err := nc.CreateLog(qctx, cfg); err != nil {
		return interrupted(ctx, logError(cfg.Name, err))
	}
	fmt.Fprintf(c.app.stderr, "created log %s on %s\n", cfg.Name, strings.Join(cfg.Subjects, ", "))
	return nil
}

// ---- ls and info ----

// jsonLog is the --json form of a log.
type jsonLog struct {
	Name                string   `json:"name"`
	Subjects            []string `json:"subjects"`
	Storage             string   `json:"storage"`
	Sync                string   `json:"sync"`
	MaxAgeSeconds       float64  `json:"max_age_seconds"`
	MaxBytes            int64    `json:"max_bytes"`
	MaxMsgs             uint64   `json:"max_msgs"`
	DedupeWindowSeconds float64  `json:"dedupe_window_seconds"`
	FirstSeq            uint64   `json:"first_seq"`
	LastSeq             uint64   `json:"last_seq"`
	Msgs                uint64   `json:"msgs"`
	Bytes               int64    `json:"bytes"`
	Consumers           []string `json:"consumers"`
	ReadOnly            string   `json:"read_only,omitempty"` // why appends are refused
	Damaged             []string `json:"damaged,omitempty"`   // damaged sequence ranges, "FIRST-LAST"
}

func toJSONLog(l ferry.LogInfo) jsonLog {
	j := jsonLog{
		Name: l.Config.Name, Subjects: l.Config.Subjects, Storage: l.Config.Storage, Sync: l.Config.Sync,
		MaxAgeSeconds: l.Config.MaxAge.Seconds(), MaxBytes: l.Config.MaxBytes, MaxMsgs: l.Config.MaxMsgs,
		DedupeWindowSeconds: l.Config.DedupeWindow.Seconds(),
		FirstSeq:            l.FirstSeq, LastSeq: l.LastSeq, Msgs: l.Msgs, Bytes: l.Bytes, Consumers: l.Consumers,
		ReadOnly: l.ReadOnly, Damaged: damagedRanges(l.Damaged),
	}
	if j.Subjects == nil {
		j.Subjects = []string{}
	}
	if j.Consumers == nil {
		j.Consumers = []string{}
	}
	return j
}

// damagedRanges writes each range as "FIRST-LAST", or "SEQ" for one record.
func damagedRanges(rs []ferry.SeqRange) []string {
	var out []string
	for _, r := range rs {
		s := strconv.FormatUint(r.First, 10)
		if r.Last != r.First {
			s += "-" + strconv.FormatUint(r.Last, 10)
		}
		out = append(out, s)
	}
	return out
}

const logJSONHelp = `  {"name":"orders","subjects":["orders.>"],"storage":"file","sync":"always",
   "max_age_seconds":0,"max_bytes":0,"max_msgs":0,"dedupe_window_seconds":0,
   "first_seq":1,"last_seq":3,"msgs":3,"bytes":180,"consumers":["billing"]}
Zero limits are unlimited.`

type logLsCmd struct {
	app    *app
	client *clientFlags
	json   bool
}

func newLogLsCmd(a *app) *cobra.Command {
	c := &logLsCmd{app: a}
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the logs",
		Long: `List the logs as a table:

  NAME    SUBJECTS  MSGS  BYTES   FIRST  LAST  STORAGE  SYNC
  orders  orders.>  3     180B    1      3     file     always

With --json, print a JSON array of objects like:

` + logJSONHelp,
		Example: `  ferry log ls
  ferry log ls --json`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(cmd.Context()) },
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().BoolVar(&c.json, "json", false, "print a JSON array")
	return cmd
}

func (c *logLsCmd) run(ctx context.Context) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	logs, err := nc.Logs(qctx)
	if err != nil {
		return interrupted(ctx, err)
	}
	if c.json {
		out := make([]jsonLog, len(logs))
		for i, l := range logs {
			out[i] = toJSONLog(l)
		}
		return writeJSON(c.app, out)
	}
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSUBJECTS\tMSGS\tBYTES\tFIRST\tLAST\tSTORAGE\tSYNC")
	for _, l := range logs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", l.Config.Name, dash(strings.Join(l.Config.Subjects, ",")),
			l.Msgs, formatBytes(int(l.Bytes)), l.FirstSeq, l.LastSeq, dash(l.Config.Storage), dash(l.Config.Sync))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

type logInfoCmd struct {
	app    *app
	client *clientFlags
	json   bool
}

func newLogInfoCmd(a *app) *cobra.Command {
	c := &logInfoCmd{app: a}
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Show a log's configuration and state",
		Long: `Show the configuration, the sequence range, the size and the durable consumers
of the log NAME. With --json, print one JSON object:

` + logJSONHelp,
		Example: `  ferry log info orders
  ferry log info orders --json`,
		Args: positional([]string{"NAME"}),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd.Context(), args[0]) },
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().BoolVar(&c.json, "json", false, "print a JSON object")
	return cmd
}

func (c *logInfoCmd) run(ctx context.Context, name string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	l, err := nc.LogInfo(qctx, name)
	if err != nil {
		return interrupted(ctx, logError(name, err))
	}
	if c.json {
		return writeJSON(c.app, toJSONLog(*l))
	}
	limit := func(set bool, s string) string {
		if !set {
			return "unlimited"
		}
		return s
	}
	cfg := l.Config
	tw := tabwriter.NewWriter(c.app.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "name\t%s\n", cfg.Name)
	fmt.Fprintf(tw, "subjects\t%s\n", dash(strings.Join(cfg.Subjects, ", ")))
	fmt.Fprintf(tw, "storage\t%s\n", dash(cfg.Storage))
	fmt.Fprintf(tw, "sync\t%s\n", dash(cfg.Sync))
	fmt.Fprintf(tw, "max age\t%s\n", limit(cfg.MaxAge > 0, cfg.MaxAge.String()))
	fmt.Fprintf(tw, "max bytes\t%s\n", limit(cfg.MaxBytes > 0, formatBytes(int(cfg.MaxBytes))))
	fmt.Fprintf(tw, "max msgs\t%s\n", limit(cfg.MaxMsgs > 0, strconv.FormatUint(cfg.MaxMsgs, 10)))
	dedupe := "off"
	if cfg.DedupeWindow > 0 {
		dedupe = cfg.DedupeWindow.String()
	}
	fmt.Fprintf(tw, "dedupe window\t%s\n", dedupe)
	fmt.Fprintf(tw, "msgs\t%d\n", l.Msgs)
	fmt.Fprintf(tw, "bytes\t%s\n", formatBytes(int(l.Bytes)))
	fmt.Fprintf(tw, "first seq\t%d\n", l.FirstSeq)
	fmt.Fprintf(tw, "last seq\t%d\n", l.LastSeq)
	if l.ReadOnly != "" {
		fmt.Fprintf(tw, "read-only\t%s\n", l.ReadOnly)
	}
	if len(l.Damaged) > 0 {
		fmt.Fprintf(tw, "damaged\t%s (reading them fails; see the server log)\n", strings.Join(damagedRanges(l.Damaged), ", "))
	}
	fmt.Fprintf(tw, "consumers\t%s\n", dash(strings.Join(l.Consumers, ", ")))
	for _, ci := range l.ConsumerDetails {
		kind := "pull"
		if ci.DeliverSubject != "" {
			kind = "push to " + ci.DeliverSubject
			if ci.DeliverGroup != "" {
				kind += " (group " + ci.DeliverGroup + ")"
			}
		}
		fmt.Fprintf(tw, "consumer %s\t%s, ack %s, delivered %d, ack floor %d, %d pending (at most %d)\n",
			ci.Name, kind, ci.Ack, ci.Delivered, ci.AckFloor, ci.Pending, ci.MaxAckPending)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// ---- rm ----

type logRmCmd struct {
	app    *app
	client *clientFlags
}

func newLogRmCmd(a *app) *cobra.Command {
	c := &logRmCmd{app: a}
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"delete"},
		Short:   "Delete a log, its consumers and its data",
		Long: `Delete the log NAME with its durable consumers and its stored records.
Prints "deleted log NAME" to stderr.`,
		Example: `  ferry log rm orders`,
		Args:    positional([]string{"NAME"}),
		RunE:    func(cmd *cobra.Command, args []string) error { return c.run(cmd.Context(), args[0]) },
	}
	c.client = addClientFlags(cmd)
	return cmd
}

func (c *logRmCmd) run(ctx context.Context, name string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if err := nc.DeleteLog(qctx, name); err != nil {
		return interrupted(ctx, logError(name, err))
	}
	fmt.Fprintf(c.app.stderr, "deleted log %s\n", name)
	return nil
}

// ---- pub ----

type logPubCmd struct {
	app     *app
	client  *clientFlags
	msgID   string
	count   int
	headers headerFlag
	timeout time.Duration
}

func newLogPubCmd(a *app) *cobra.Command {
	c := &logPubCmd{app: a}
	cmd := &cobra.Command{
		Use:   "pub SUBJECT [DATA]",
		Short: "Publish to the logs capturing a subject and print the sequences",
		Long: `Publish DATA to SUBJECT, --count times, waiting each time until the logs
capturing SUBJECT have stored it, and print its sequence (the first log's
when several capture it), one per line. Without DATA, publish one message
per line read from stdin. The message is also delivered live to subscribers.

--msg-id sets the Ferry-Msg-Id header: within the log's dedupe window a
repeated ID is not stored again and the original's sequence is printed.
Exits with status 1 when no log captures SUBJECT.`,
		Example: `  ferry log pub orders.eu.created '{"id":1}'
  ferry log pub orders.eu.created '{"id":1}' --msg-id order-1
  printf 'a\nb\n' | ferry log pub orders.eu.lines`,
		Args: positional([]string{"SUBJECT"}, "DATA"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			if len(args) == 1 && cmd.Flags().Changed("count") {
				return usageErrorf("--count needs DATA; lines from stdin are published once each")
			}
			if c.timeout <= 0 {
				return usageErrorf("--timeout must be positive, got %s", c.timeout)
			}
			return c.run(cmd.Context(), args)
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().StringVar(&c.msgID, "msg-id", "", "message ID for deduplication (header "+ferry.MsgIDHeader+")")
	cmd.Flags().IntVarP(&c.count, "count", "n", 1, "publish DATA this many times")
	cmd.Flags().Var(&c.headers, "header", "message header key=value (repeatable)")
	cmd.Flags().DurationVar(&c.timeout, "timeout", 10*time.Second, "bound on waiting for each acknowledgement")
	return cmd
}

func (c *logPubCmd) run(ctx context.Context, args []string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	subject := args[0]
	header := c.headers.h
	if c.msgID != "" {
		header = append(append(ferry.Header(nil), header...), ferry.HeaderField{Key: ferry.MsgIDHeader, Value: c.msgID})
	}
	publish := func(data []byte) error {
		pctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		ack, err := nc.PublishMsgDurable(pctx, &ferry.Msg{Subject: subject, Header: header, Data: data})
		if errors.Is(err, ferry.ErrNotStored) {
			return fmt.Errorf("no log captures %s", subject)
		}
		if err != nil {
			return interrupted(ctx, err)
		}
		if _, err := fmt.Fprintln(c.app.stdout, ack.Seq); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	if len(args) == 2 {
		for range c.count {
			if err := publish([]byte(args[1])); err != nil {
				return err
			}
		}
		return nil
	}
	return publishLines(ctx, c.app, publish)
}
