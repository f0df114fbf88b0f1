package main

// Crash test: a publisher writes to a sync "always" log while the real server
// process is killed with SIGKILL at random moments; every acknowledged
// message must survive each restart exactly once, at its acknowledged
// sequence, in order.

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
)

// crashServer is a "ferry serve" child process started directly, so that the
// test can SIGKILL it.
type crashServer struct {
	cmd    *exec.Cmd
	stderr *output
	done   chan struct{} // closed once the process has been reaped
}

// startCrashServer starts "ferry serve" on addr with data dir dir and waits,
// by connecting, until it accepts clients. It retries while the port cannot
// be bound yet. The process is killed and reaped when the test ends.
func startCrashServer(t *testing.T, bin, addr, dir string, deadline time.Time) *crashServer {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s := &crashServer{stderr: newOutput(), done: make(chan struct{})}
		s.cmd = exec.Command(bin, "serve", "--listen", addr, "--http", "off", "--data", dir)
		s.cmd.Env = cleanEnv()
		s.cmd.Stdout, s.cmd.Stderr = s.stderr, s.stderr
		s.cmd.WaitDelay = 2 * time.Second
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start ferry serve: %v", err)
		}
		go func() {
			_ = s.cmd.Wait()
			close(s.done)
		}()
		t.Cleanup(func() {
			s.kill()
			if t.Failed() {
				t.Logf("ferry serve (attempt %d) output:\n%s", attempt, s.stderr)
			}
		})
		ok, exited := s.waitReady(addr, deadline)
		if ok {
			return s
		}
		if exited && strings.Contains(s.stderr.String(), "address already in use") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // port still held; retry the bind
			continue
		}
		s.kill()
		t.Fatalf("ferry serve on %s not ready (exited: %v):\n%s", addr, exited, s.stderr)
	}
}

// waitReady polls a client connection until the server answers, it exits, or
// the deadline passes.
func (s *crashServer) waitReady(addr string, deadline time.Time) (ok, exited bool) {
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return false, true
		default:
		}
		c, err := ferry.Connect("ferry://"+addr, ferry.WithReconnect(false), ferry.WithTimeout(500*time.Millisecond))
		if err == nil {
			c.Close()
			return true, false
		}
		select {
		case <-s.done:
			return false, true
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false, false
}

// kill sends SIGKILL (if still running) and reaps the process.
func (s *crashServer) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// readAllRecords fetches the whole log through ephemeral consumers, in
// batches, until caught up.
func readAllRecords(ctx context.Context, c *ferry.Conn, log string) ([]*ferry.LogRecord, error) {
	var all []*ferry.LogRecord
	start := "first"
	for {
		recs, err := c.Fetch(ctx, ferry.ConsumerConfig{Log: log, Start: start, Ack: "none"}, 500, 0)
		if err != nil {
			return all, err
		}
		if len(recs) == 0 {
			return all, nil
		}
		all = append(all, recs...)
		start = "seq:" + strconv.FormatUint(recs[len(recs)-1].Seq+1, 10)
	}
}

func TestE2ECrashKeepsAcknowledgedMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test kills and restarts a server process")
	}
	bin := ferryBinary(t) // built before the clock starts
	const (
		rounds  = 4
		logName = "crash"
	)
	began := time.Now()
	deadline := began.Add(20 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	addr := freePort(t)
	url := "ferry://" + addr
	dir := t.TempDir()
	srv := startCrashServer(t, bin, addr, dir, deadline)

	acked := map[int]uint64{} // k -> acknowledged seq, over all rounds
	next := 1                 // next k to publish
	totalAcked := 0

	for round := 1; round <= rounds; round++ {
		c, err := ferry.Connect(url, ferry.WithReconnect(false))
		if err != nil {
			t.Fatalf("round %d: connect: %v", round, err)
		}
		if round == 1 {
			if err := c.CreateLog(ctx, ferry.LogConfig{Name: logName, Subjects: []string{"crash.>"}, Sync: ferry.SyncAlways}); err != nil {
				c.Close()
				t.Fatalf("create log: %v", err)
			}
		}

		// Publish until the server dies.
		type ack struct {
			k   int
			seq uint64
		}
		var killed atomic.Bool
		ackCh := make(chan ack, 1<<16)
		pubDone := make(chan error, 1)
		first := next
		go func() {
			for k := first; ; k++ {
				a, err := c.PublishDurable(ctx, "crash.x", []byte(fmt.Sprintf("n=%d", k)))
				if err != nil {
					if !killed.Load() {
						err = fmt.Errorf("before the kill: %w", err)
					}
					pubDone <- fmt.Errorf("publish n=%d: %w", k, err)
					close(ackCh)
					return
				}
				ackCh <- ack{k, a.Seq}
			}
		}()
		delay := time.Duration(50+rng.Intn(251)) * time.Millisecond
		time.Sleep(delay) // the random moment of the crash, not synchronisation
		killed.Store(true)
		srv.kill()
		var pubErr error
		select {
		case pubErr = <-pubDone:
		case <-ctx.Done():
			c.Close()
			t.Fatalf("round %d: publisher still running after the server was killed", round)
		}
		if pubErr != nil && strings.Contains(pubErr.Error(), "before the kill") {
			t.Errorf("round %d: publisher failed while the server was up: %v", round, pubErr)
		}
		n, last := 0, 0
		for a := range ackCh {
			if prev, dup := acked[a.k]; dup {
				t.Errorf("round %d: n=%d acknowledged twice (seq %d and %d)", round, a.k, prev, a.seq)
			}
			acked[a.k] = a.seq
			n++
			last = a.k
		}
		// The publisher stops at its first error: the last k it tried is
		// first+n, which may or may not have been stored.
		next = first + n + 1
		totalAcked += n
		c.Close()
		t.Logf("round %d: killed after %v; %d acknowledged (n=%d..%d); publisher stopped with: %v",
			round, delay, n, first, last, pubErr)

		// Restart on the same port and data dir, then verify.
		srv = startCrashServer(t, bin, addr, dir, deadline)
		c, err = ferry.Connect(url, ferry.WithReconnect(false))
		if err != nil {
			t.Fatalf("round %d: reconnect: %v", round, err)
		}
		recs, err := readAllRecords(ctx, c, logName)
		c.Close()
		if err != nil {
			t.Fatalf("round %d: read log after restart: %v", round, err)
		}
		verifyCrashLog(t, round, recs, acked, next)
		if t.Failed() {
			t.FailNow()
		}
	}
	if totalAcked == 0 {
		t.Errorf("no publish was acknowledged in %d rounds", rounds)
	}
	t.Logf("%d rounds, %d acknowledged, %v", rounds, totalAcked, time.Since(began).Round(time.Millisecond))
}

// verifyCrashLog checks the log read after a restart: records in increasing
// seq order with increasing k, no k twice, and every acknowledged k present
// at its acknowledged seq with its payload. Unacknowledged k (below next) may
// be present.
func verifyCrashLog(t *testing.T, round int, recs []*ferry.LogRecord, acked map[int]uint64, next int) {
	t.Helper()
	found := map[int]uint64{} // k -> seq in the log
	var prevSeq uint64
	prevK := 0
	for i, r := range recs {
		if i > 0 && r.Seq <= prevSeq {
			t.Errorf("round %d: record %d has seq %d after seq %d", round, i, r.Seq, prevSeq)
		}
		prevSeq = r.Seq
		if r.Subject != "crash.x" {
			t.Errorf("round %d: seq %d has subject %q", round, r.Seq, r.Subject)
		}
		ks, ok := strings.CutPrefix(string(r.Data), "n=")
		k, err := strconv.Atoi(ks)
		if !ok || err != nil || k < 1 || k >= next {
			t.Errorf("round %d: seq %d has unexpected payload %q", round, r.Seq, r.Data)
			continue
		}
		if s, dup := found[k]; dup {
			t.Errorf("round %d: n=%d stored twice, at seq %d and %d", round, k, s, r.Seq)
			continue
		}
		found[k] = r.Seq
		if k <= prevK {
			t.Errorf("round %d: n=%d at seq %d follows n=%d: out of order", round, k, r.Seq, prevK)
		}
		prevK = k
	}
	var missing, moved []string
	for k, seq := range acked {
		got, ok := found[k]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("n=%d@%d", k, seq))
		case got != seq:
			moved = append(moved, fmt.Sprintf("n=%d acked %d found %d", k, seq, got))
		}
	}
	if len(missing) > 0 {
		t.Errorf("round %d: %d acknowledged messages lost after restart (of %d; log has %d records): %s",
			round, len(missing), len(acked), len(recs), firstFew(missing))
	}
	if len(moved) > 0 {
		t.Errorf("round %d: %d acknowledged messages at the wrong seq: %s", round, len(moved), firstFew(moved))
	}
	unacked := len(found) - (len(acked) - len(missing))
	t.Logf("round %d: log has %d records (%d acknowledged, %d unacknowledged but stored)",
		round, len(recs), len(acked)-len(missing), unacked)
}

func firstFew(s []string) string {
	if len(s) > 10 {
		return strings.Join(s[:10], ", ") + ", ..."
	}
	return strings.Join(s, ", ")
}
