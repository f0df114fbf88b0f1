package logstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

const (
	recoveryGiBEnv   = "FERRY_RECOVERY_GIB"  // e.g. 1: the size of TestRecoveryTime's log in GiB
	recoveryChildEnv = "FERRY_RECOVERY_FILL" // set for the child: "dir bytes"
	recoveryPayload  = 512
)

// TestRecoveryTimeChild is the process TestRecoveryTime kills; run alone
// it skips. It appends records from eight goroutines (sync never, default
// segment size) until the log holds the bytes asked for, prints FULL and
// waits to be killed, so the active segment is left without an index or a
// final fsync, as after a crash.
func TestRecoveryTimeChild(t *testing.T) {
	arg := os.Getenv(recoveryChildEnv)
	if arg == "" {
		t.Skip("run by TestRecoveryTime")
	}
	dir, sizeStr, _ := strings.Cut(arg, " ")
	want, err := strconv.ParseInt(sizeStr, 10, 64)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	l, err := logstore.OpenFile(dir, logstore.Config{Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	go func() { // never outlive a lost parent
		time.Sleep(5 * time.Minute)
		os.Exit(3)
	}()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := logstore.Record{Subject: fmt.Sprintf("recovery.w%d", w), Payload: make([]byte, recoveryPayload)}
			for n.Add(int64(r.Size())) <= want {
				if _, _, err := l.Append(context.Background(), r); err != nil {
					fmt.Println("ERR", err)
					os.Exit(2)
				}
			}
		})
	}
	wg.Wait()
	fmt.Println("FULL")
	select {} // killed here
}

// TestRecoveryTime fills a log from a child process, SIGKILLs it and
// times OpenFile verifying every sealed record (the default) and with
// TrustSealed. By default the log is 32 MiB; FERRY_RECOVERY_GIB=1 makes
// it 1 GiB, the figure docs/benchmarks.md quotes.
func TestRecoveryTime(t *testing.T) {
	size := int64(32 << 20)
	if v := os.Getenv(recoveryGiBEnv); v != "" {
		gib, err := strconv.ParseFloat(v, 64)
		if err != nil || gib <= 0 {
			t.Fatalf("%s=%q: want a positive number of GiB", recoveryGiBEnv, v)
		}
		size = int64(gib * (1 << 30))
	}
	dir := t.TempDir()
	start := time.Now()
	fillAndKill(t, dir, size)
	t.Logf("filled %d MiB in %v", size>>20, time.Since(start).Round(time.Millisecond))

	for _, tc := range []struct {
		name string
		cfg  logstore.Config
		cold bool // drop the page cache first
	}{
		{"verify", logstore.Config{}, false},
		{"trust-sealed", logstore.Config{TrustSealed: true}, false},
		{"verify-cold", logstore.Config{}, true},
		{"trust-sealed-cold", logstore.Config{TrustSealed: true}, true},
	} {
		if tc.cold && !dropCache(dir) {
			t.Logf("%s: cannot drop the page cache here; skipped", tc.name)
			continue
		}
		start := time.Now()
		l, err := logstore.OpenFile(dir, tc.cfg)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: OpenFile: %v", tc.name, err)
		}
		st := l.State()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if len(st.Damaged) != 0 || st.FirstSeq != 1 || st.Msgs != st.LastSeq || st.Bytes < size*9/10 {
			t.Fatalf("%s: state after kill: %+v", tc.name, st)
		}
		t.Logf("%s: reopened %d MiB, %d records, %d segments in %v", tc.name, st.Bytes>>20, st.Msgs, st.Segments, took.Round(time.Millisecond))
		if budget := recoveryBudget(size); tc.name == "verify" && took > budget {
			t.Errorf("%s: reopen took %v, budget %v for %d MiB", tc.name, took.Round(time.Millisecond), budget, size>>20)
		}
	}
}

// recoveryBudget is a generous bound on a warm-cache verifying reopen of
// size bytes: 2 s per GiB, at least 1 s. The default 32 MiB reopens in
// tens of milliseconds, so only a large regression (or a badly overloaded
// machine) trips it.
func recoveryBudget(size int64) time.Duration {
	return max(time.Duration(float64(2*time.Second)*float64(size)/(1<<30)), time.Second)
}

// fillAndKill runs TestRecoveryTimeChild on dir until it reports FULL,
// then SIGKILLs it.
func fillAndKill(t *testing.T, dir string, size int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecoveryTimeChild$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", recoveryChildEnv, dir, size))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	full := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); line == "FULL" || strings.HasPrefix(line, "ERR") {
				full <- line
				return
			}
		}
		full <- "child exited"
	}()
	select {
	case line := <-full:
		if line != "FULL" {
			t.Fatalf("child: %s", line)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("child did not fill the log in 5 minutes")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
}
