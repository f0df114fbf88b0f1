// Command bench measures Ferry side by side with NATS (and Redis pub/sub
// when redis-server is installed): throughput, request/reply latency and
// broker memory. See README.md.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// config is what every scenario run is given.
type config struct {
	runs     int
	duration time.Duration // per run, unless msgs > 0
	msgs     int           // messages (or requests) per run; 0: use duration
	conns    int           // memory: idle connections
	subs     int           // memory: subscriptions
	durPubs  int           // durable: concurrent publishers
	verbose  io.Writer     // progress lines; io.Discard for none
}

// Metric names: the keys of a run's figures and the table's metric column.
const (
	mMsgs   = "msgs/s"
	mPerSub = "msgs/s per sub"
	mTotal  = "msgs/s total"
	mMBs    = "MB/s"
	mP50    = "p50 µs"
	mP90    = "p90 µs"
	mP99    = "p99 µs"
	mRate   = "req/s"
	mIdle   = "RSS idle MiB"
	mConn   = "bytes/conn"
	mSub    = "bytes/sub"
)

// lowerBetter lists the metrics where a smaller figure is better.
var lowerBetter = map[string]bool{mP50: true, mP90: true, mP99: true, mIdle: true, mConn: true, mSub: true}

// benchCase is one scenario at one payload size (or variant).
type benchCase struct {
	scenario  string
	payload   string
	metrics   []string
	brokers   []string // the brokers that can run it; nil: all
	external  bool     // runs its brokers as processes itself (memory)
	jetStream bool     // NATS runs with JetStream (file storage in a temp dir)
	note      string
	run       func(b broker, cfg config) (map[string]float64, error)
}

var scenarioNames = []string{"pub", "pubsub", "fanout", "shared", "reqrep", "large", "durable", "memory"}

func sizeName(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// allCases lists every case, in table order.
func allCases(bs *binaries) []benchCase {
	var cs []benchCase
	add := func(c benchCase) { cs = append(cs, c) }
	small := []int{16, 128}
	for _, n := range small {
		add(benchCase{scenario: "pub", payload: sizeName(n), metrics: []string{mMsgs},
			run: func(b broker, cfg config) (map[string]float64, error) { return runPub(b, cfg, n) }})
	}
	for _, n := range small {
		add(benchCase{scenario: "pubsub", payload: sizeName(n), metrics: []string{mMsgs},
			run: func(b broker, cfg config) (map[string]float64, error) {
				return runDelivery(b, cfg, n, shape{subs: 1})
			}})
	}
	for _, n := range small {
		add(benchCase{scenario: "fanout", payload: sizeName(n), metrics: []string{mPerSub, mTotal}, note: "1 → 4 subscribers",
			run: func(b broker, cfg config) (map[string]float64, error) {
				return runDelivery(b, cfg, n, shape{subs: 4})
			}})
	}
	for _, p := range []groupPolicy{policyDefault, policyNearest} {
		for _, n := range small {
			c := benchCase{scenario: "shared", payload: sizeName(n), metrics: []string{mTotal}, brokers: []string{"ferry", "nats"},
				note: "1 → queue group of 4; Ferry round-robin, NATS queue group",
				run: func(b broker, cfg config) (map[string]float64, error) {
					return runDelivery(b, cfg, n, shape{subs: 4, group: true, policy: p})
				}}
			if p == policyNearest {
				c.scenario = "shared/nearest"
				c.note = "Ferry WithPolicy(Nearest), 2 members near the publisher, 2 far; NATS: its plain queue group"
			}
			add(c)
		}
	}
	for _, n := range small {
		add(benchCase{scenario: "reqrep", payload: sizeName(n), metrics: []string{mP50, mP90, mP99, mRate}, brokers: []string{"ferry", "nats"},
			note: "sequential requests to one echo responder",
			run:  func(b broker, cfg config) (map[string]float64, error) { return runReqRep(b, cfg, n) }})
	}
	for _, n := range []int{1 << 10, 64 << 10} {
		add(benchCase{scenario: "large", payload: sizeName(n), metrics: []string{mMsgs, mMBs}, note: "1 → 1",
			run: func(b broker, cfg config) (map[string]float64, error) {
				return runDelivery(b, cfg, n, shape{subs: 1})
			}})
	}
	for _, v := range []struct{ name, sync, note string }{
		{"durable/always", syncAlways, "acked durable publishes, -durable-publishers concurrent; Ferry log sync always; NATS JetStream file stream at its defaults (acks before fsync)"},
		{"durable/interval", syncInterval, "Ferry log sync interval:100ms; NATS measured again, same JetStream setup as durable/always"},
	} {
		for _, n := range small {
			add(benchCase{scenario: v.name, payload: sizeName(n), metrics: []string{mMsgs, mP50, mP99}, brokers: []string{"ferry", "nats"},
				jetStream: true, note: v.note,
				run: func(b broker, cfg config) (map[string]float64, error) { return runDurable(b, cfg, n, v.sync) }})
		}
	}
	add(benchCase{scenario: "memory", payload: "—", metrics: []string{mIdle, mConn, mSub}, external: true,
		note: "brokers as separate processes; RSS",
		run:  func(b broker, cfg config) (map[string]float64, error) { return runMemory(bs, b.name(), cfg) }})
	return cs
}

// brokerResult is one broker's figures for one metric of one case.
type brokerResult struct {
	Median      *float64  `json:"median"` // nil: unsupported, or every run failed
	Runs        []float64 `json:"runs,omitempty"`
	Errors      []string  `json:"errors,omitempty"`
	Unsupported bool      `json:"unsupported,omitempty"`
}

// row is one line of the table.
type row struct {
	Scenario   string                   `json:"scenario"`
	Payload    string                   `json:"payload"`
	Metric     string                   `json:"metric"`
	Better     string                   `json:"better"` // "higher" or "lower"
	Note       string                   `json:"note,omitempty"`
	Results    map[string]*brokerResult `json:"results"`
	FerryNATS  *float64                 `json:"ferry_over_nats,omitempty"`
	FerryRedis *float64                 `json:"ferry_over_redis,omitempty"`
}

// runCase runs c cfg.runs times on each broker, alternating brokers, and
// returns one row per metric.
func runCase(c benchCase, brokers []broker, cfg config) []row {
	samples := map[string]map[string][]float64{}
	errs := map[string][]string{}
	can := func(b broker) bool { return c.brokers == nil || slices.Contains(c.brokers, b.name()) }
	for i := range cfg.runs {
		for _, b := range brokers {
			if !can(b) {
				continue
			}
			runtime.GC()
			t := time.Now()
			m, err := runOne(c, b, cfg)
			fmt.Fprintf(cfg.verbose, "%-16s %-6s run %d/%d %-5s %6.1fs  %s\n", c.scenario, c.payload, i+1, cfg.runs, b.name(), time.Since(t).Seconds(), brief(c.metrics, m, err))
			if err != nil {
				errs[b.name()] = append(errs[b.name()], err.Error())
				continue
			}
			if samples[b.name()] == nil {
				samples[b.name()] = map[string][]float64{}
			}
			for k, v := range m {
				samples[b.name()][k] = append(samples[b.name()][k], v)
			}
		}
	}
	var rows []row
	for _, metric := range c.metrics {
		r := row{Scenario: c.scenario, Payload: c.payload, Metric: metric, Better: "higher", Note: c.note, Results: map[string]*brokerResult{}}
		if lowerBetter[metric] {
			r.Better = "lower"
		}
		for _, b := range brokers {
			br := &brokerResult{Unsupported: !can(b), Errors: errs[b.name()]}
			if xs := samples[b.name()][metric]; len(xs) > 0 {
				m := median(xs)
				br.Median, br.Runs = &m, xs
			}
			r.Results[b.name()] = br
		}
		r.FerryNATS = ratio(r.Results["ferry"], r.Results["nats"])
		r.FerryRedis = ratio(r.Results["ferry"], r.Results["redis"])
		rows = append(rows, r)
	}
	return rows
}

// runOne runs c once on b, starting and stopping b around it.
func runOne(c benchCase, b broker, cfg config) (m map[string]float64, err error) {
	if nb, ok := b.(*natsBroker); ok {
		nb.jetStream = c.jetStream
	}
	if !c.external {
		if err := b.start(); err != nil {
			return nil, fmt.Errorf("start: %w", err)
		}
		defer b.stop()
	}
	return c.run(b, cfg)
}

func ratio(a, b *brokerResult) *float64 {
	if a == nil || b == nil || a.Median == nil || b.Median == nil || *b.Median == 0 {
		return nil
	}
	r := *a.Median / *b.Median
	return &r
}

func brief(metrics []string, m map[string]float64, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var parts []string
	for _, k := range metrics {
		parts = append(parts, human(m[k])+" "+k)
	}
	return strings.Join(parts, ", ")
}

// human formats a figure with three or so significant digits.
func human(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// cell is a broker's figure in the table: "—" when unsupported or absent,
// "error" when every run failed, a trailing "*" when some runs failed.
func cell(br *brokerResult) string {
	switch {
	case br == nil || br.Unsupported:
		return "—"
	case br.Median == nil && len(br.Errors) > 0:
		return "error"
	case br.Median == nil:
		return "—"
	case len(br.Errors) > 0:
		return human(*br.Median) + "*"
	}
	return human(*br.Median)
}

func ratioCell(r *float64) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f", *r)
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tpayload\tmetric\tferry\tnats\tredis\tferry/nats\tferry/redis\t")
	for _, r := range rows {
		arrow := "↑"
		if r.Better == "lower" {
			arrow = "↓"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.Payload, r.Metric, arrow,
			cell(r.Results["ferry"]), cell(r.Results["nats"]), cell(r.Results["redis"]),
			ratioCell(r.FerryNATS), ratioCell(r.FerryRedis))
	}
	tw.Flush()
	// Notes and problems, once per case.
	seen := map[string]bool{}
	var notes, problems []string
	for _, r := range rows {
		key := r.Scenario + " " + r.Payload
		if seen[key] {
			continue
		}
		seen[key] = true
		if r.Note != "" && !seen["note "+r.Scenario] {
			seen["note "+r.Scenario] = true
			notes = append(notes, fmt.Sprintf("  %s: %s", r.Scenario, r.Note))
		}
		for _, b := range []string{"ferry", "nats", "redis"} {
			br := r.Results[b]
			if br == nil {
				continue
			}
			count := map[string]int{}
			var order []string
			for _, e := range br.Errors {
				if count[e] == 0 {
					order = append(order, e)
				}
				count[e]++
			}
			for _, e := range order {
				times := ""
				if count[e] > 1 {
					times = fmt.Sprintf(" (%d runs)", count[e])
				}
				problems = append(problems, fmt.Sprintf("  %s %s, %s%s: %s", r.Scenario, r.Payload, b, times, e))
			}
		}
	}
	fmt.Fprintln(w, "\n↑ higher is better, ↓ lower is better; figures are medians of the runs; MB = 10^6 bytes.")
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	if len(problems) > 0 {
		fmt.Fprintln(w, "\nProblems (* = some runs failed, the figure is the median of the others):")
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
	}
}

// selectCases picks the cases of the named scenarios ("all" or a comma
// list).
func selectCases(all []benchCase, names string) ([]benchCase, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "all":
			for _, s := range scenarioNames {
				want[s] = true
			}
		case slices.Contains(scenarioNames, n):
			want[n] = true
		case n != "":
			return nil, fmt.Errorf("unknown scenario %q (want all or some of %s)", n, strings.Join(scenarioNames, ","))
		}
	}
	var out []benchCase
	for _, c := range all {
		if want[strings.Split(c.scenario, "/")[0]] {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

// report is what -json writes.
type report struct {
	Date      time.Time `json:"date"`
	GoVersion string    `json:"go_version"`
	CPUs      int       `json:"cpus"`
	Runs      int       `json:"runs"`
	Duration  string    `json:"duration,omitempty"`
	Msgs      int       `json:"msgs,omitempty"`
	Brokers   []string  `json:"brokers"`
	Notes     []string  `json:"notes,omitempty"`
	Elapsed   string    `json:"elapsed"`
	Rows      []row     `json:"rows"`
}

func main() {
	scenarios := flag.String("scenarios", "all", "comma-separated scenarios: "+strings.Join(scenarioNames, ",")+", or all")
	cfg := config{}
	flag.IntVar(&cfg.runs, "runs", 5, "runs per scenario and broker; the table shows the median")
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "length of each run")
	flag.IntVar(&cfg.msgs, "msgs", 0, "messages (or requests) per run instead of -duration")
	flag.IntVar(&cfg.conns, "conns", 10_000, "memory: idle connections")
	flag.IntVar(&cfg.subs, "subs", 100_000, "memory: subscriptions (on 10 connections)")
	flag.IntVar(&cfg.durPubs, "durable-publishers", 8, "durable: concurrent publishers, each on its own connection")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	brokerList := flag.String("brokers", "ferry,nats,redis", "brokers to compare")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	flag.Parse()
	if cfg.runs < 1 || (cfg.msgs <= 0 && cfg.duration <= 0) || cfg.conns < 1 || cfg.subs < memSubConns || cfg.durPubs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs, -duration (or -msgs), -conns, -subs and -durable-publishers must be positive (-subs at least 10)")
		os.Exit(2)
	}
	cfg.verbose = os.Stderr
	if *quiet {
		cfg.verbose = io.Discard
	}

	bs := &binaries{}
	defer bs.cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; bs.cleanup(); os.Exit(130) }() // children die with us (Pdeathsig)

	cases, err := selectCases(allCases(bs), *scenarios)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	var notes []string
	note := func(s string) { fmt.Println(s); notes = append(notes, s) }
	var brokers []broker
	for _, name := range strings.Split(*brokerList, ",") {
		switch strings.TrimSpace(name) {
		case "ferry":
			brokers = append(brokers, &ferryBroker{})
		case "nats":
			brokers = append(brokers, &natsBroker{})
		case "redis":
			path, err := exec.LookPath("redis-server")
			if err != nil {
				note("redis: redis-server not found; skipping (apt-get install redis-server)")
				continue
			}
			bs.redis = path
			brokers = append(brokers, &redisBroker{path: path})
		default:
			fmt.Fprintf(os.Stderr, "bench: unknown broker %q (want ferry, nats, redis)\n", name)
			os.Exit(2)
		}
	}
	if slices.ContainsFunc(cases, func(c benchCase) bool { return c.external }) {
		// Client side of the memory scenario: cfg.conns sockets plus slack.
		want := uint64(cfg.conns + 500)
		got, err := raiseFileLimit(want)
		if err == nil && got < want {
			cfg.conns = int(got) - 500
			note(fmt.Sprintf("memory: open-file limit is %d; measuring %d idle connections instead", got, cfg.conns))
		}
		if cfg.conns < 1 {
			note("memory: too few file descriptors; skipping")
			cases = slices.DeleteFunc(cases, func(c benchCase) bool { return c.external })
		}
	}

	start := time.Now()
	var rows []row
	for _, c := range cases {
		rows = append(rows, runCase(c, brokers, cfg)...)
	}
	elapsed := time.Since(start).Round(time.Second)
	fmt.Printf("\nFerry vs NATS vs Redis — %d run(s) each, %s per run; Go %s, %d CPUs\n\n", cfg.runs, perRun(cfg), runtime.Version(), runtime.NumCPU())
	printTable(os.Stdout, rows)
	fmt.Printf("\nTotal time: %v\n", elapsed)

	if *jsonOut != "" {
		rep := report{Date: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Runs: cfg.runs,
			Msgs: cfg.msgs, Notes: notes, Elapsed: elapsed.String(), Rows: rows}
		if cfg.msgs <= 0 {
			rep.Duration = cfg.duration.String()
		}
		for _, b := range brokers {
			rep.Brokers = append(rep.Brokers, b.name())
		}
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func perRun(cfg config) string {
	if cfg.msgs > 0 {
		return fmt.Sprintf("%d messages", cfg.msgs)
	}
	return cfg.duration.String()
}
