package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

func TestBenchPercentiles(t *testing.T) {
	us := time.Microsecond
	tests := []struct {
		name   string
		values func(rec func(time.Duration))
		want   benchLatency // µs
	}{
		{
			name: "uniform 1..1000µs",
			values: func(rec func(time.Duration)) {
				for i := 1; i <= 1000; i++ {
					rec(time.Duration(i) * us)
				}
			},
			want: benchLatency{Count: 1000, Min: 1, Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000},
		},
		{
			name: "constant",
			values: func(rec func(time.Duration)) {
				for range 500 {
					rec(250 * us)
				}
			},
			want: benchLatency{Count: 500, Min: 250, Mean: 250, P50: 250, P90: 250, P99: 250, P999: 250, Max: 250},
		},
		{
			name: "99% fast, 1% slow",
			values: func(rec func(time.Duration)) {
				for i := range 10000 {
					if i%100 == 0 {
						rec(100 * time.Millisecond)
					} else {
						rec(50 * us)
					}
				}
			},
			want: benchLatency{Count: 10000, Min: 50, Mean: 1049.5, P50: 50, P90: 50, P99: 50, P999: 100000, Max: 100000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Spread over two recorders to exercise the merge.
			a, b := newBenchRecorder(), newBenchRecorder()
			i := 0
			tt.values(func(d time.Duration) {
				r := a
				if i%2 == 1 {
					r = b
				}
				i++
				r.record(time.Now(), d)
			})
			got := benchSummary(mergeBenchHistograms([]*benchRecorder{a, b}))
			if got == nil || got.Count != tt.want.Count {
				t.Fatalf("got %+v, want count %d", got, tt.want.Count)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"min", got.Min, tt.want.Min}, {"mean", got.Mean, tt.want.Mean}, {"p50", got.P50, tt.want.P50},
				{"p90", got.P90, tt.want.P90}, {"p99", got.P99, tt.want.P99}, {"p99.9", got.P999, tt.want.P999},
				{"max", got.Max, tt.want.Max},
			} {
				// Three significant digits: within 0.1 %.
				if math.Abs(c.got-c.want) > c.want/1000 {
					t.Errorf("%s = %v µs, want %v µs", c.name, c.got, c.want)
				}
			}
		})
	}
	if benchSummary(newBenchHistogram()) != nil {
		t.Error("empty histogram summarised")
	}
}

func TestBenchStamp(t *testing.T) {
	now := time.Unix(1_700_000_000, 123456789)
	for _, size := range []int{0, 7, 8, 128} {
		m := &ferry.Msg{Data: make([]byte, size)}
		benchStamp(m, now)
		if (m.Header != nil) != (size < 8) {
			t.Errorf("size %d: header %v", size, m.Header)
		}
		if got, ok := benchSentAt(m); !ok || got != now.UnixNano() {
			t.Errorf("size %d: benchSentAt = %d, %v", size, got, ok)
		}
	}
	if _, ok := benchSentAt(&ferry.Msg{Data: []byte("abc")}); ok {
		t.Error("unstamped message has a send time")
	}
	rec := newBenchRecorder()
	rec.message(&ferry.Msg{Data: []byte("abc")})
	if rec.n.Load() != 1 || rec.hist.TotalCount() != 0 {
		t.Errorf("unstamped: n %d, recorded %d", rec.n.Load(), rec.hist.TotalCount())
	}
}

// benchResults are a result with latencies and one without.
func benchResults() []*benchResult {
	started := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	return []*benchResult{
		{Started: started, Scenario: "fanout", Subject: "bench.fanout", Pubs: 1, Subs: 4, Size: 128,
			Sent: 1000, Expected: 4000, Received: 4000, ReceivedBy: []int64{1000, 1000, 1000, 1000},
			Seconds: 0.5, MsgsPerSec: 2000, DeliveriesPerSec: 8000, MBPerSec: 0.256,
			Latency: &benchLatency{Count: 4000, Min: 10, Mean: 50, P50: 45, P90: 80, P99: 120, P999: 300, Max: 1500}},
		{Started: started, Scenario: "pub", Subject: "bench.pub", Pubs: 2, Size: 16, Sent: 5000, Seconds: 0.25,
			MsgsPerSec: 20000, MBPerSec: 0.32},
	}
}

func TestBenchJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := writeBenchJSON(&buf, benchResults()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var fan, pub map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &fan); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &pub); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started", "scenario", "subject", "pubs", "subs", "size", "sent", "expected", "received",
		"received_by", "lost", "dropped", "seconds", "msgs_per_sec", "deliveries_per_sec", "mb_per_sec", "latency_us", "lossy"} {
		if _, ok := fan[k]; !ok {
			t.Errorf("fanout lacks %q: %s", k, lines[0])
		}
	}
	lat, _ := fan["latency_us"].(map[string]any)
	for _, k := range []string{"count", "min", "mean", "p50", "p90", "p99", "p99_9", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_us lacks %q", k)
		}
	}
	if lat["p99_9"] != 300.0 || fan["started"] != "2026-12-04T18:00:00Z" {
		t.Errorf("values: %s", lines[0])
	}
	if _, ok := pub["latency_us"]; ok {
		t.Errorf("pub has latencies: %s", lines[1])
	}
}

func TestBenchCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := writeBenchCSV(&buf, benchResults()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	if strings.Join(rows[0], ",") != strings.Join(benchCSVHeader, ",") {
		t.Errorf("header %v", rows[0])
	}
	col := func(row []string, name string) string {
		for i, h := range rows[0] {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %q", name)
		return ""
	}
	tests := []struct{ row, col, want string }{
		{"fanout", "scenario", "fanout"},
		{"fanout", "started", "2026-12-04T18:00:00Z"},
		{"fanout", "subs", "4"},
		{"fanout", "received", "4000"},
		{"fanout", "msgs_per_sec", "2000"},
		{"fanout", "mb_per_sec", "0.256"},
		{"fanout", "lat_p999_us", "300"},
		{"fanout", "lat_max_us", "1500"},
		{"pub", "pubs", "2"},
		{"pub", "lat_p50_us", ""},
		{"pub", "lat_count", ""},
	}
	for _, tt := range tests {
		row := rows[1]
		if tt.row == "pub" {
			row = rows[2]
		}
		if len(row) != len(benchCSVHeader) {
			t.Fatalf("row %v has %d columns", row, len(row))
		}
		if got := col(row, tt.col); got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.row, tt.col, got, tt.want)
		}
	}
}

func TestBenchText(t *testing.T) {
	var buf bytes.Buffer
	if err := writeBenchText(&buf, benchResults()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%q", buf.String())
	}
	for i, want := range [][]string{
		{"scenario", "msgs/s", "MB/s", "p99.9", "max"},
		{"fanout", "2.00k", "8.00k", "45.0µs", "300µs", "1.50ms"},
		{"pub", "20.0k", " - "},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
}

func TestBenchFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtSI(0), "0.00"}, {fmtSI(999), "999"}, {fmtSI(9999.6), "10.0k"}, {fmtSI(1234567), "1.23M"}, {fmtSI(2.5e9), "2.50G"},
		{fmtMicros(0.5), "0.50µs"}, {fmtMicros(45.25), "45.2µs"}, {fmtMicros(1500), "1.50ms"}, {fmtMicros(2.5e6), "2.50s"},
		{fmtShort(99.96), "100"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestBenchProgressLine(t *testing.T) {
	tests := []struct {
		total   int64
		dur     time.Duration
		n       int64
		elapsed time.Duration
		want    string
	}{
		{total: 1000, n: 500, elapsed: time.Second, want: "pubsub   [==========>         ]  50%  500 msgs  500 msgs/s  1.0s "},
		{dur: 4 * time.Second, n: 3000, elapsed: time.Second, want: "pubsub   [=====>              ]  25%  3000 msgs  3.00k msgs/s  1.0s "},
		{total: 10, n: 20, elapsed: 2 * time.Second, want: "pubsub   [====================] 100%  20 msgs  10.0 msgs/s  2.0s "},
		{total: 10, n: 0, want: "pubsub   [>                   ]   0%  0 msgs  0.00 msgs/s  0.0s "},
	}
	for _, tt := range tests {
		p := &benchProgress{label: "pubsub", total: tt.total, dur: tt.dur}
		if got := p.line(tt.n, tt.elapsed); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
	var out lockedWriter // draws into a buffer; Stop waits for the drawing goroutine
	var buf bytes.Buffer
	out.w = &buf
	p := startProgress(&out, "pub", 10, 0, func() int64 { return 5 })
	p.Stop()
	p.Stop()
	startProgress(nil, "pub", 10, 0, nil).Stop()
}

func TestBenchCheck(t *testing.T) {
	tests := []struct {
		lost, dropped int64
		lossy         bool
		wantErr       bool
	}{
		{0, 0, false, false},
		{5, 0, false, true},
		{5, 5, false, false}, // every loss reported as a drop
		{5, 2, false, true},
		{5, 0, true, false},
	}
	for _, tt := range tests {
		r := &benchResult{Scenario: "fanout", Lost: tt.lost, Dropped: tt.dropped, Lossy: tt.lossy}
		err := r.check()
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errBenchLost)) {
			t.Errorf("lost %d dropped %d lossy %v: %v", tt.lost, tt.dropped, tt.lossy, err)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "missing SCENARIO"},
		{[]string{"bench", "bogus"}, `unknown scenario "bogus"`},
		{[]string{"bench", "pub", "--msgs", "10", "--duration", "1s"}, "not both"},
		{[]string{"bench", "pub", "--msgs", "1", "--pubs", "2"}, "--msgs must be at least --pubs"},
		{[]string{"bench", "fanout", "--pubs", "2"}, "fanout has one publisher"},
		{[]string{"bench", "pub", "--json", "--csv"}, "--json or --csv"},
		{[]string{"bench", "anycast", "--policy", "closest"}, `unknown policy "closest"`},
		{[]string{"bench", "pub", "--size", "-1"}, "--size must be"},
		{[]string{"bench", "pub", "--rate", "-5"}, "--rate must be"},
		{[]string{"bench", "pub", "--id", "x"}, "--id cannot be used"},
	}
	for _, tt := range tests {
		code, _, stderr := runInProcess(t, "", tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}

// runBench runs ferry bench in process against url and returns its results.
func runBench(t *testing.T, url string, args ...string) []*benchResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	args = append([]string{"bench", "--server", url, "--json"}, args...)
	if code := run(ctx, args, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out.String(), errOut.String())
	}
	var rs []*benchResult
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r benchResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v in %q", err, sc.Text())
		}
		rs = append(rs, &r)
	}
	return rs
}

func TestBenchE2E(t *testing.T) {
	srv := ferrytest.New(t)
	const msgs = 2000
	begun := time.Now()
	rs := runBench(t, srv.URL(), "all", "--msgs", "2000", "--pubs", "2")
	// No latency can exceed the whole run: a broken stamp (recorded as the
	// histogram's one-minute cap, or negative and clamped) shows here.
	wall := float64(time.Since(begun).Microseconds())
	wantSubs := map[string]int{"pub": 0, "pubsub": 1, "fanout": 4, "anycast": 4, "reqrep": 1, "stream": 1}
	if len(rs) != len(wantSubs) {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		t.Run(r.Scenario, func(t *testing.T) {
			wantPubs := 2
			if r.Scenario == "fanout" {
				wantPubs = 1 // fanout always has one publisher
			}
			if r.Pubs != wantPubs {
				t.Errorf("pubs %d, want %d", r.Pubs, wantPubs)
			}
			want := int64(msgs)
			if r.Scenario != "pub" && r.Scenario != "anycast" && r.Scenario != "reqrep" {
				want *= int64(r.Subs)
			}
			if r.Scenario == "pub" {
				want = 0
			}
			if r.Sent != msgs || r.Subs != wantSubs[r.Scenario] || r.Expected != want || r.Received != want || r.Lost != 0 {
				t.Errorf("counts %+v", r)
			}
			if r.Seconds <= 0 || r.MsgsPerSec <= 0 || r.MBPerSec <= 0 {
				t.Errorf("rates %+v", r)
			}
			if r.Scenario == "pub" {
				if r.Latency != nil {
					t.Errorf("pub latencies %+v", r.Latency)
				}
				return
			}
			if r.Latency == nil || r.Latency.Count != want || r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P999 || r.Latency.P999 > r.Latency.Max {
				t.Errorf("latency %+v", r.Latency)
			}
			if r.Latency != nil && (r.Latency.P999 >= wall || r.Latency.Max >= wall) {
				t.Errorf("latency %+v µs, not below the run's %.0f µs", r.Latency, wall)
			}
			if len(r.ReceivedBy) == 0 {
				t.Errorf("no per-receiver counts")
			}
			var sum int64
			for _, n := range r.ReceivedBy {
				sum += n
				if r.Scenario == "anycast" && n == 0 {
					t.Errorf("anycast receiver got nothing: %v", r.ReceivedBy)
				}
			}
			if sum != r.Received {
				t.Errorf("received_by %v sums to %d, not %d", r.ReceivedBy, sum, r.Received)
			}
		})
	}
}

// TestBenchE2ELoss makes bench lose messages for real: another anycast
// endpoint on the bench subject takes every fifth message round-robin.
// Without --lossy the unexplained loss fails the run (exit 1) once the
// delivery wait ends at --timeout; with --lossy it is only reported.
func TestBenchE2ELoss(t *testing.T) {
	srv := ferrytest.New(t)
	nc, err := ferry.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	stolen := make(chan struct{}, 1)
	if _, err := nc.Handle("bench.anycast", func(*ferry.Msg) {
		select {
		case stolen <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lossy    bool
		wantCode int
	}{
		{false, 1},
		{true, 0},
	}
	for _, tt := range tests {
		args := []string{"bench", "anycast", "--server", srv.URL(), "--json", "--msgs", "100", "--timeout", "1s"}
		if tt.lossy {
			args = append(args, "--lossy")
		}
		code, out, stderr := runInProcess(t, "", args...)
		var r benchResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("lossy %v: %v in %q (stderr %q)", tt.lossy, err, out, stderr)
		}
		if code != tt.wantCode || r.Sent != 100 || r.Lost != 20 || r.Received != 80 || r.Dropped != 0 {
			t.Errorf("lossy %v: exit %d (want %d), %+v, stderr %q", tt.lossy, code, tt.wantCode, r, stderr)
		}
		if wantMsg := !tt.lossy; strings.Contains(stderr, "messages lost") != wantMsg {
			t.Errorf("lossy %v: stderr %q", tt.lossy, stderr)
		}
		if !strings.Contains(stderr, "stopped waiting for deliveries") {
			t.Errorf("lossy %v: no --timeout warning in %q", tt.lossy, stderr)
		}
	}
	select {
	case <-stolen:
	default:
		t.Error("the extra endpoint got nothing")
	}
}

// TestBenchFirstError: a failing publisher cancels the others; their
// context.Canceled must not hide the failure, whichever arrives first.
func TestBenchFirstError(t *testing.T) {
	boom := errors.New("boom")
	canceled := fmt.Errorf("after 3 messages: %w", context.Canceled)
	tests := []struct {
		name string
		errs []error
		want error
	}{
		{"none", []error{nil, nil}, nil},
		{"failure first", []error{boom, canceled}, boom},
		{"canceled first", []error{nil, canceled, canceled, boom}, boom},
		{"only canceled", []error{canceled, nil}, context.Canceled},
		{"deadline", []error{canceled, context.DeadlineExceeded}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		got := firstBenchError(tt.errs)
		if (got == nil) != (tt.want == nil) || (tt.want != nil && !errors.Is(got, tt.want)) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestBenchE2EDuration runs for a duration with payloads too small for the
// stamp, which then travels in a header.
func TestBenchE2EDuration(t *testing.T) {
	srv := ferrytest.New(t)
	rs := runBench(t, srv.URL(), "pubsub", "--duration", "200ms", "--size", "4", "--subs", "2", "--pubs", "2", "--subject", "t.small")
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if r.Sent == 0 || r.Subject != "t.small" || r.Received != 2*r.Sent || r.Lost != 0 || r.Latency == nil || r.Latency.Count != r.Received {
		t.Errorf("%+v, latency %+v", r, r.Latency)
	}
}

// TestBenchInterrupt cancels a long run once messages flow: it ends at
// once with the interrupted status.
func TestBenchInterrupt(t *testing.T) {
	srv := ferrytest.New(t)
	nc, err := ferry.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := nc.Subscribe("bench.pub", func(*ferry.Msg) { cancel() }); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"bench", "pub", "--server", srv.URL(), "--duration", "1m"}, strings.NewReader(""), &out, &errOut)
	}()
	select {
	case code := <-done:
		if code != exitInterrupted || out.Len() != 0 {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bench did not end after the interrupt")
	}
}

// TestBenchE2EFormats checks the CSV and text output through the command.
func TestBenchE2EFormats(t *testing.T) {
	srv := ferrytest.New(t)
	tests := []struct {
		args  []string
		check func(t *testing.T, out string)
	}{
		{[]string{"pub", "pubsub", "--msgs", "500", "--csv"}, func(t *testing.T, out string) {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(rows) != 3 || rows[1][1] != "pub" || rows[2][1] != "pubsub" || rows[2][6] != "500" {
				t.Errorf("%v: %q", err, out)
			}
		}},
		{[]string{"fanout", "--msgs", "500", "--subs", "2", "--lossy"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "scenario") || !strings.Contains(out, "fanout") {
				t.Errorf("%q", out)
			}
		}},
	}
	for _, tt := range tests {
		code, out, stderr := runInProcess(t, "", append([]string{"bench", "--server", srv.URL()}, tt.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, stderr)
		}
		tt.check(t, out)
	}
}
