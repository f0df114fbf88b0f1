package main

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
)

func TestE2ELog(t *testing.T) {
	srv := ferrytest.New(t)
	url := srv.URL()

	code, _, stderr := runFerry(t, url, "", "log", "create", "orders", "--subjects", "orders.>")
	expect(t, "log create", code, 0, stderr, "created log orders on orders.>")
	code, _, stderr = runFerry(t, url, "", "log", "create", "orders", "--subjects", "orders.>")
	expect(t, "log create again", code, 1, stderr, "exists")

	code, stdout, stderr := runFerry(t, url, "", "log", "pub", "orders.eu", "o", "--count", "3")
	expect(t, "log pub", code, 0, stderr, "")
	if got, want := lines(stdout), []string{"1", "2", "3"}; !slices.Equal(got, want) {
		t.Errorf("log pub printed %q, want %q", got, want)
	}
	code, _, stderr = runFerry(t, url, "", "log", "pub", "nowhere.x", "o")
	expect(t, "log pub uncaptured", code, 1, stderr, "ferry: no log captures nowhere.x")

	code, stdout, stderr = runFerry(t, url, "", "log", "read", "orders", "--from", "first", "--count", "3")
	expect(t, "log read", code, 0, stderr, "")
	want := []string{"1 orders.eu: o", "2 orders.eu: o", "3 orders.eu: o"}
	if got := lines(stdout); !slices.Equal(got, want) {
		t.Errorf("log read printed %q, want %q", got, want)
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "read", "orders", "--from", "2")
	expect(t, "log read caught up", code, 0, stderr, "")
	if got := lines(stdout); !slices.Equal(got, want[1:]) {
		t.Errorf("log read --from 2 printed %q, want %q", got, want[1:])
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "read", "orders", "--from", "last", "--json")
	expect(t, "log read --json", code, 0, stderr, "")
	var rec jsonRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil || rec.Seq != 3 || rec.Subject != "orders.eu" ||
		rec.Payload == nil || *rec.Payload != "o" || rec.Time.IsZero() {
		t.Errorf("log read --json printed %s (%v)", stdout, err)
	}

	code, stdout, stderr = runFerry(t, url, "", "log", "consume", "orders", "C", "--ack", "--count", "2")
	expect(t, "log consume", code, 0, stderr, "")
	if got := lines(stdout); !slices.Equal(got, want[:2]) {
		t.Errorf("first consume printed %q, want %q", got, want[:2])
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "consume", "orders", "C", "--ack", "--count", "1")
	expect(t, "log consume again", code, 0, stderr, "")
	if got := lines(stdout); !slices.Equal(got, want[2:]) {
		t.Errorf("second consume printed %q, want %q", got, want[2:])
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "consume", "orders", "C", "--ack", "--wait", "200ms")
	expect(t, "log consume caught up", code, 0, stderr, "")
	if stdout != "" {
		t.Errorf("caught-up consume printed %q", stdout)
	}

	code, stdout, stderr = runFerry(t, url, "", "log", "ls")
	expect(t, "log ls", code, 0, stderr, "")
	if ls := lines(stdout); len(ls) != 2 || !strings.HasPrefix(ls[0], "NAME") ||
		!slices.Equal(strings.Fields(ls[1])[:3], []string{"orders", "orders.>", "3"}) {
		t.Errorf("log ls printed:\n%s", stdout)
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "ls", "--json")
	expect(t, "log ls --json", code, 0, stderr, "")
	var logs []jsonLog
	if err := json.Unmarshal([]byte(stdout), &logs); err != nil || len(logs) != 1 || logs[0].Msgs != 3 ||
		logs[0].FirstSeq != 1 || logs[0].LastSeq != 3 || !slices.Equal(logs[0].Consumers, []string{"C"}) {
		t.Errorf("log ls --json printed %s (%v)", stdout, err)
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "info", "orders")
	expect(t, "log info", code, 0, stderr, "")
	if !strings.Contains(stdout, "orders.>") || !strings.Contains(stdout, "consumers") {
		t.Errorf("log info printed:\n%s", stdout)
	}

	code, _, stderr = runFerry(t, url, "", "log", "rm", "orders")
	expect(t, "log rm", code, 0, stderr, "deleted log orders")
	code, _, stderr = runFerry(t, url, "", "log", "info", "orders")
	expect(t, "log info after rm", code, 1, stderr, "ferry: log orders not found")
	code, _, stderr = runFerry(t, url, "", "log", "read", "orders")
	expect(t, "log read after rm", code, 1, stderr, "not found")
}

func TestE2ELogPubDedupe(t *testing.T) {
	srv := ferrytest.New(t)
	url := srv.URL()
	code, _, stderr := runFerry(t, url, "", "log", "create", "ev", "--subjects", "ev.*", "--subjects", "more.>",
		"--storage", "memory", "--sync", "never", "--dedupe-window", "1m", "--max-msgs", "100", "--max-bytes", "1MiB")
	expect(t, "log create", code, 0, stderr, "created log ev on ev.*, more.>")
	code, stdout, stderr := runFerry(t, url, "", "log", "pub", "ev.a", "x", "--msg-id", "id-1", "--count", "2")
	expect(t, "log pub dedupe", code, 0, stderr, "")
	if got := lines(stdout); !slices.Equal(got, []string{"1", "1"}) {
		t.Errorf("log pub with one ID printed %q, want 1 1", got)
	}
	code, stdout, stderr = runFerry(t, url, "a\nb\n", "log", "pub", "more.lines")
	expect(t, "log pub stdin", code, 0, stderr, "")
	if got := lines(stdout); !slices.Equal(got, []string{"2", "3"}) {
		t.Errorf("log pub from stdin printed %q, want 2 3", got)
	}
	code, stdout, stderr = runFerry(t, url, "", "log", "info", "ev", "--json")
	expect(t, "log info --json", code, 0, stderr, "")
	var l jsonLog
	if err := json.Unmarshal([]byte(stdout), &l); err != nil || l.Msgs != 3 || l.Storage != "memory" || l.Sync != "never" ||
		l.DedupeWindowSeconds != 60 || l.MaxMsgs != 100 || l.MaxBytes != 1<<20 {
		t.Errorf("log info --json printed %s (%v)", stdout, err)
	}
}

// TestE2ELogConsumeFollows checks that consume waits for new records.
func TestE2ELogConsumeFollows(t *testing.T) {
	srv := ferrytest.New(t)
	url := srv.URL()
	code, _, stderr := runFerry(t, url, "", "log", "create", "jobs", "--subjects", "jobs")
	expect(t, "log create", code, 0, stderr, "")
	c := start(t, url, "", "log", "consume", "jobs", "w", "--ack", "--count", "2", "--json")
	read := start(t, url, "", "log", "read", "jobs", "--from", "first", "--count", "2", "--wait", "20s")
	code, _, stderr = runFerry(t, url, "", "log", "pub", "jobs", "one", "--header", "k=v")
	expect(t, "log pub", code, 0, stderr, "")
	code, _, stderr = runFerry(t, url, "", "log", "pub", "jobs", "two")
	expect(t, "log pub", code, 0, stderr, "")
	if code := c.wait(); code != 0 {
		t.Errorf("consume exit %d; stderr: %s", code, c.stderr)
	}
	var recs []jsonRecord
	for _, ln := range c.stdout.lines() {
		var r jsonRecord
		if err := json.Unmarshal([]byte(ln), &r); err != nil {
			t.Fatalf("%v in %s", err, ln)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].Seq != 1 || *recs[0].Payload != "one" || !slices.Equal(recs[0].Headers["k"], []string{"v"}) ||
		recs[0].Deliveries != 1 || recs[1].Seq != 2 {
		t.Errorf("consume printed %+v", recs)
	}
	if code := read.wait(); code != 0 {
		t.Errorf("read exit %d; stderr: %s", code, read.stderr)
	}
	if got, want := read.stdout.lines(), []string{"1 jobs: one", "2 jobs: two"}; !slices.Equal(got, want) {
		t.Errorf("read printed %q, want %q", got, want)
	}
}

// lines splits output into lines without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestE2ELogPushFanOut checks that two push consumers each get every record.
func TestE2ELogPushFanOut(t *testing.T) {
	srv := ferrytest.New(t)
	url := srv.URL()
	code, _, stderr := runFerry(t, url, "", "log", "create", "jobs", "--subjects", "jobs")
	expect(t, "log create", code, 0, stderr, "")
	a := start(t, url, "", "log", "consume", "jobs", "a", "--push", "--ack", "--count", "3")
	b := start(t, url, "", "log", "consume", "jobs", "b", "--push", "--count", "3", "--json")
	code, _, stderr = runFerry(t, url, "", "log", "pub", "jobs", "x", "--count", "3")
	expect(t, "log pub", code, 0, stderr, "")
	for _, p := range []*proc{a, b} {
		if code := p.wait(); code != 0 {
			t.Errorf("consume exit %d; stderr: %s", code, p.stderr)
		}
	}
	if got, want := a.stdout.lines(), []string{"1 jobs: x", "2 jobs: x", "3 jobs: x"}; !slices.Equal(got, want) {
		t.Errorf("consumer a printed %q, want %q", got, want)
	}
	for i, ln := range b.stdout.lines() {
		var r jsonRecord
		if err := json.Unmarshal([]byte(ln), &r); err != nil || r.Seq != uint64(i+1) || r.Deliveries != 1 || r.Subject != "jobs" {
			t.Errorf("consumer b line %d: %s (%v)", i, ln, err)
		}
	}
	code, _, stderr = runFerry(t, url, "", "log", "consume", "jobs", "a", "--wait", "100ms")
	expect(t, "pull on a push consumer", code, 1, stderr, "--push")
}

// TestE2ELogPushWorkQueue checks that two processes sharing a push
// consumer through a group get each record exactly once between them.
func TestE2ELogPushWorkQueue(t *testing.T) {
	const n = 20
	srv := ferrytest.New(t)
	url := srv.URL()
	code, _, stderr := runFerry(t, url, "", "log", "create", "jobs", "--subjects", "jobs")
	expect(t, "log create", code, 0, stderr, "")
	workers := []*proc{
		start(t, url, "", "log", "consume", "jobs", "w", "--push", "--group", "g", "--ack"),
		start(t, url, "", "log", "consume", "jobs", "w", "--push", "--group", "g", "--ack"),
	}
	code, _, stderr = runFerry(t, url, "", "log", "pub", "jobs", "x", "--count", strconv.Itoa(n))
	expect(t, "log pub", code, 0, stderr, "")
	deadline := time.After(waitTimeout)
	for {
		s0, ch0 := workers[0].stdout.snapshot()
		s1, ch1 := workers[1].stdout.snapshot()
		if strings.Count(s0, "\n")+strings.Count(s1, "\n") >= n {
			break
		}
		select {
		case <-ch0:
		case <-ch1:
		case <-deadline:
			t.Fatalf("workers printed %q and %q", s0, s1)
		}
	}
	seen := map[string]int{}
	for _, w := range workers {
		w.signal(os.Interrupt)
		if code := w.wait(); code != 0 {
			t.Errorf("worker exit %d; stderr: %s", code, w.stderr)
		}
		for _, ln := range w.stdout.lines() {
			seen[strings.Fields(ln)[0]]++
		}
	}
	for i := 1; i <= n; i++ {
		if c := seen[strconv.Itoa(i)]; c != 1 {
			t.Errorf("record %d printed %d times", i, c)
		}
	}
	code, stdout, stderr := runFerry(t, url, "", "log", "info", "jobs")
	expect(t, "log info", code, 0, stderr, "")
	if want := "push to _PUSH.jobs.w (group g), ack each, delivered 20, ack floor 20, 0 pending (at most 1000)"; !strings.Contains(stdout, want) {
		t.Errorf("log info printed:\n%s\nwant a line with %q", stdout, want)
	}
}
