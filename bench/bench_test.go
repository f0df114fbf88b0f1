package main

import (
	"bytes"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs every scenario once with tiny counts against Ferry and
// NATS (and Redis when redis-server is installed), to keep the harness
// working. It checks that every supported broker produced every figure.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and builds binaries")
	}
	bs := &binaries{}
	defer bs.cleanup()
	brokers := []broker{&ferryBroker{}, &natsBroker{}}
	if path, err := exec.LookPath("redis-server"); err == nil {
		bs.redis = path
		brokers = append(brokers, &redisBroker{path: path})
	} else {
		t.Log("redis-server not found; Redis not covered")
	}
	cfg := config{runs: 1, msgs: 2000, duration: time.Second, conns: 50, subs: 200, durPubs: 4, verbose: testWriter{t}}
	var rows []row
	for _, c := range allCases(bs) {
		rows = append(rows, runCase(c, brokers, cfg)...)
	}
	for _, r := range rows {
		for _, b := range brokers {
			br := r.Results[b.name()]
			if br.Unsupported {
				continue
			}
			if len(br.Errors) > 0 || br.Median == nil || math.IsNaN(*br.Median) || *br.Median <= 0 && r.Scenario != "memory" {
				t.Errorf("%s %s %s, %s: median %v, errors %v", r.Scenario, r.Payload, r.Metric, b.name(), br.Median, br.Errors)
			}
		}
	}
	var out bytes.Buffer
	printTable(&out, rows)
	for _, s := range scenarioNames {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks scenario %s:\n%s", s, out.String())
		}
	}
	t.Log("\n" + out.String())
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestSelectCases(t *testing.T) {
	all := allCases(&binaries{})
	got, err := selectCases(all, "pub,shared")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.scenario != "pub" && !strings.HasPrefix(c.scenario, "shared") {
			t.Errorf("selected %s", c.scenario)
		}
	}
	if len(got) != 6 { // pub ×2, shared ×2, shared/nearest ×2
		t.Errorf("selected %d cases, want 6", len(got))
	}
	if d, _ := selectCases(all, "durable"); len(d) != 4 { // always and interval, ×2 payloads
		t.Errorf("durable selected %d cases, want 4", len(d))
	}
	if all2, _ := selectCases(all, "all"); len(all2) != len(all) {
		t.Errorf("all selected %d of %d", len(all2), len(all))
	}
	if _, err := selectCases(all, "pub,nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
}

func TestStats(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v, want 2", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]float64{7}, 99); got != 7 {
		t.Errorf("p99 of one = %v", got)
	}
}

func TestHuman(t *testing.T) {
	for v, want := range map[float64]string{1_234_567: "1.23M", 56_789: "57k", 1_234: "1.23k", 250: "250", 42.25: "42.2", math.NaN(): "—"} {
		if got := human(v); got != want {
			t.Errorf("human(%v) = %q, want %q", v, got, want)
		}
	}
}
