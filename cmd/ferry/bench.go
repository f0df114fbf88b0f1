package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type benchCmd struct {
	app      *app
	client   *clientFlags
	msgs     int64
	duration time.Duration
	timeout  time.Duration
	size     int
	pubs     int
	subs     int
	subject  string
	policy   string
	rate     float64
	lossy    bool
	jsonOut  bool
	csvOut   bool
	progress bool
}

func newBenchCmd(a *app) *cobra.Command {
	c := &benchCmd{app: a}
	var list strings.Builder
	for _, s := range benchScenarios {
		fmt.Fprintf(&list, "  %-8s %s\n", s.name, s.about)
	}
	cmd := &cobra.Command{
		Use:   "bench SCENARIO... | all",
		Short: "Measure throughput and latency against a running broker",
		Long: `Run benchmark scenarios against a running broker and report messages per
second, MB/s of payload and end-to-end latency percentiles (p50, p90, p99,
p99.9, max) from an HdrHistogram. Every publisher and receiver has a
connection of its own. Scenarios:

` + list.String() + `
--msgs is the number of messages sent by all publishers together; without
it each publisher sends for --duration. Publishers stamp each message with
its send time (in the payload when --size is at least 8, else in a
header); receivers record the latency. Unless --lossy, publishers of the
subscriber scenarios stay at most a window of messages ahead of the
receivers, and the run fails (exit 1) when any message is missing that no
drop counter explains. See docs/ferry-bench.md for the JSON and CSV columns.`,
		Example: `  ferry bench pubsub
  ferry bench fanout --subs 8 --size 1024 --duration 10s
  ferry bench reqrep --msgs 100000 --json
  ferry bench all --duration 3s --csv >> results.csv`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("missing SCENARIO")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := c.check(cmd, args)
			if err != nil {
				return err
			}
			return c.run(cmd.Context(), cmd, names)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	_ = f.MarkHidden("id") // refused: bench opens several connections
	f.Int64VarP(&c.msgs, "msgs", "n", 0, "messages (requests) to send in all, split among the publishers")
	f.DurationVarP(&c.duration, "duration", "d", 5*time.Second, "how long to publish, when --msgs is not given")
	f.DurationVar(&c.timeout, "timeout", 0, "bound on each scenario (default: 2×duration+20s, or 30s plus 100µs per message)")
	f.IntVar(&c.size, "size", 128, "payload bytes")
	f.IntVar(&c.pubs, "pubs", 1, "publishers (requesters for reqrep)")
	f.IntVar(&c.subs, "subs", 0, "receivers (default: 4 for fanout and anycast, else 1)")
	f.StringVar(&c.subject, "subject", "", "subject (default bench.SCENARIO)")
	f.StringVar(&c.policy, "policy", "round-robin", "anycast policy: round-robin, nearest, least-loaded, random or hash")
	f.Float64Var(&c.rate, "rate", 0, "messages per second per publisher (0: as fast as possible); latency is then measured from when each message was due")
	f.BoolVar(&c.lossy, "lossy", false, "publish as fast as possible; lost messages are reported, not an error")
	f.BoolVar(&c.jsonOut, "json", false, "print one JSON object per scenario")
	f.BoolVar(&c.csvOut, "csv", false, "print CSV: a header and one row per scenario")
	f.BoolVar(&c.progress, "progress", false, "draw a progress line on stderr (default: when stderr is a terminal)")
	return cmd
}

// check validates the flags and returns the scenario names to run.
func (c *benchCmd) check(cmd *cobra.Command, args []string) ([]string, error) {
	fl := cmd.Flags()
	switch {
	case fl.Changed("msgs") && fl.Changed("duration"):
		return nil, usageErrorf("give --msgs or --duration, not both")
	case fl.Changed("msgs") && c.msgs < int64(max(c.pubs, 1)):
		return nil, usageErrorf("--msgs must be at least --pubs (%d), got %d", c.pubs, c.msgs)
	case !fl.Changed("msgs") && c.duration <= 0:
		return nil, usageErrorf("--duration must be positive, got %v", c.duration)
	case c.size < 0 || c.size > maxLine:
		return nil, usageErrorf("--size must be in [0, %d], got %d", maxLine, c.size)
	case c.pubs < 1:
		return nil, usageErrorf("--pubs must be at least 1, got %d", c.pubs)
	case fl.Changed("subs") && c.subs < 1:
		return nil, usageErrorf("--subs must be at least 1, got %d", c.subs)
	case c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0):
		return nil, usageErrorf("--rate must be a non-negative number, got %v", c.rate)
	case c.timeout < 0:
		return nil, usageErrorf("--timeout must not be negative, got %v", c.timeout)
	case c.jsonOut && c.csvOut:
		return nil, usageErrorf("give --json or --csv, not both")
	case fl.Changed("id"):
		return nil, usageErrorf("--id cannot be used: bench opens several connections")
	}
	if _, err := ferry.ParsePolicy(c.policy); err != nil {
		return nil, usageError{err}
	}
	if len(args) == 1 && args[0] == "all" {
		args = nil
		for _, s := range benchScenarios {
			args = append(args, s.name)
		}
	} else {
		for _, name := range args {
			sc := findBenchScenario(name)
			if sc == nil {
				return nil, usageErrorf("unknown scenario %q (want all or one of %s)", name, benchScenarioNames())
			}
			if sc.onePub && c.pubs > 1 {
				return nil, usageErrorf("%s has one publisher; use pubsub for --pubs %d", name, c.pubs)
			}
		}
	}
	if !fl.Changed("progress") {
		c.progress = benchIsTerminal(c.app.stderr)
	}
	return args, nil
}

func benchScenarioNames() string {
	names := make([]string, len(benchScenarios))
	for i, s := range benchScenarios {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// config returns the run configuration of scenario sc.
func (c *benchCmd) config(sc *benchScenario) benchConfig {
	cfg := benchConfig{msgs: c.msgs, duration: c.duration, timeout: c.timeout, size: c.size,
		pubs: c.pubs, subs: c.subs, subject: c.subject, rate: c.rate, lossy: c.lossy}
	cfg.policy, _ = ferry.ParsePolicy(c.policy) // checked
	if sc.onePub {
		cfg.pubs = 1
	}
	if cfg.subs == 0 || sc.receive == nil {
		cfg.subs = sc.subs
	}
	if cfg.subject == "" {
		cfg.subject = "bench." + sc.name
	}
	if cfg.timeout == 0 {
		if cfg.msgs > 0 {
			cfg.timeout = 30*time.Second + time.Duration(cfg.msgs)*100*time.Microsecond
		} else {
			cfg.timeout = 2*cfg.duration + 20*time.Second
		}
	}
	return cfg
}

func (c *benchCmd) run(ctx context.Context, cmd *cobra.Command, names []string) error {
	url := c.client.url(c.app)
	var progressTo io.Writer
	if c.progress {
		progressTo = c.app.stderr
	}
	var results []*benchResult
	var failed error
	for _, name := range names {
		sc := findBenchScenario(name)
		r := &benchRun{sc: sc, cfg: c.config(sc), warn: func(err error) {
			fmt.Fprintf(c.app.stderr, "ferry: bench %s: %s\n", name, errorText(err))
		}}
		r.connect = func(role string, i int) (*ferry.Conn, error) {
			opts := append(c.client.options(c.app), ferry.WithReconnect(false), ferry.WithErrorHandler(func(err error) {
				if !c.lossy || !errors.Is(err, ferry.ErrSlowConsumer) { // --lossy expects drops
					r.warn(err)
				}
			}))
			if !cmd.Flags().Changed("name") {
				opts = append(opts, ferry.WithName(fmt.Sprintf("bench-%s-%s-%d", name, role, i+1)))
			}
			nc, err := ferry.Connect(url, opts...)
			if err != nil {
				return nil, fmt.Errorf("cannot connect to %s: %w", url, err)
			}
			return nc, nil
		}
		res, err := runScenario(ctx, r, progressTo)
		if ctx.Err() != nil {
			failed = errInterrupted // still print the scenarios that completed
			break
		}
		if err != nil {
			failed = fmt.Errorf("bench %s: %w", name, err)
			break
		}
		results = append(results, res)
		failed = errors.Join(failed, res.check())
	}
	if err := c.write(results); err != nil {
		return err
	}
	return failed
}

func (c *benchCmd) write(rs []*benchResult) error {
	if len(rs) == 0 {
		return nil
	}
	switch {
	case c.jsonOut:
		return writeBenchJSON(c.app.stdout, rs)
	case c.csvOut:
		return writeBenchCSV(c.app.stdout, rs)
	default:
		return writeBenchText(c.app.stdout, rs)
	}
}
