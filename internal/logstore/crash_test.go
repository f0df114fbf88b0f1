package logstore_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

const (
	crashDirEnv   = "FERRY_LOGSTORE_CRASH_DIR"
	crashRoundEnv = "FERRY_LOGSTORE_CRASH_ROUND"
	crashSeed     = 20260301
)

var crashCfg = logstore.Config{MaxSegmentBytes: 32 << 10}

// crashPayload is the payload the child stores for id: its length and
// bytes depend on id, so the parent can check it.
func crashPayload(id string) []byte {
	h := fnv.New32a()
	h.Write([]byte(id))
	n := int(h.Sum32() % 2000)
	return bytes.Repeat([]byte(id+";"), n/len(id)+1)[:n]
}

// TestCrashChild is the process TestCrash kills; run alone it skips. It
// appends from four goroutines with SyncAlways as fast as it can and
// prints "ACK seq id" for every acknowledged append.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	l, err := logstore.OpenFile(dir, crashCfg)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	go func() { // never outlive a lost parent
		time.Sleep(10 * time.Second)
		os.Exit(3)
	}()
	var mu sync.Mutex // serialises stdout lines
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-w%d-%d", os.Getenv(crashRoundEnv), w, i)
				seq, _, err := l.Append(context.Background(), logstore.Record{Subject: "crash." + id, Payload: crashPayload(id)})
				mu.Lock()
				if err != nil {
					fmt.Fprintln(os.Stdout, "ERR", err)
					os.Exit(2)
				}
				io.WriteString(os.Stdout, fmt.Sprintf("ACK %d %s\n", seq, id))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a child appending with SyncAlways at random moments
// and checks, after each kill, that every acknowledged record is in the
// log exactly once, in order, with its payload.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(crashSeed, 0))
	acked := make(map[uint64]string) // seq -> id, over all rounds
	start := time.Now()
	for round := range 4 {
		delay := time.Duration(20+rng.IntN(130)) * time.Millisecond
		n := 0
		for _, a := range runCrashChild(t, dir, round, delay) {
			if prev, ok := acked[a.seq]; ok && prev != a.id {
				t.Fatalf("seq %d acknowledged for %s and %s", a.seq, prev, a.id)
			}
			acked[a.seq] = a.id
			n++
		}
		cut := tearUnacked(t, dir, acked, rng)
		t.Logf("round %d: killed after %v, %d acknowledged, %d unacknowledged bytes torn off", round, delay, n, cut)
		verifyCrashLog(t, dir, acked)
	}
	if len(acked) == 0 {
		t.Fatal("child acknowledged nothing")
	}
	t.Logf("%d acknowledged records checked in %v", len(acked), time.Since(start))
}

// tearUnacked simulates a power loss on top of the kill: it cuts the last
// segment at a random point after the last acknowledged record, as if the
// unsynced pages were partly lost. It returns the bytes cut.
func tearUnacked(t *testing.T, dir string, acked map[uint64]string, rng *rand.Rand) int64 {
	t.Helper()
	var maxAcked uint64
	for seq := range acked {
		maxAcked = max(maxAcked, seq)
	}
	segs := segFiles(t, dir)
	last := segs[len(segs)-1]
	keep := int64(0)
	for _, f := range frames(t, last) {
		if f.seq <= maxAcked {
			keep = f.off + f.size
		}
	}
	size := fileSize(t, last)
	if size == keep {
		return 0
	}
	cut := keep + rng.Int64N(size-keep)
	if err := os.Truncate(last, cut); err != nil {
		t.Fatal(err)
	}
	return size - cut
}

type ack struct {
	seq uint64
	id  string
}

// runCrashChild starts the child, SIGKILLs it delay after its first
// acknowledgement, reaps it and returns the complete ACK lines.
func runCrashChild(t *testing.T, dir string, round int, delay time.Duration) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%d", crashRoundEnv, round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	defer func() {
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a partial last line was not acknowledged
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	var acks []ack
	first := time.After(5 * time.Second)
	var kill <-chan time.Time
	for lines != nil {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				break
			}
			var a ack
			if _, err := fmt.Sscanf(line, "ACK %d %s", &a.seq, &a.id); err != nil {
				if strings.HasPrefix(line, "ERR") {
					t.Fatalf("child: %s", line)
				}
				continue
			}
			acks = append(acks, a)
			if first != nil {
				first, kill = nil, time.After(delay)
			}
		case <-kill:
			cmd.Process.Kill() // SIGKILL
			kill = nil
		case <-first:
			t.Fatalf("child acknowledged nothing in 5s: %s", stderr.String())
		}
	}
	cmd.Wait()
	reaped = true
	return acks
}

// verifyCrashLog opens the log and checks it holds every acknowledged
// record at its sequence, with dense sequences and no repeated id.
func verifyCrashLog(t *testing.T, dir string, acked map[uint64]string) {
	t.Helper()
	l, err := logstore.OpenFile(dir, crashCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st := l.State()
	if len(st.Damaged) != 0 || st.FirstSeq != 1 {
		t.Fatalf("state after crash: %+v", st)
	}
	recs, err := l.ReadBatch(1, 0, 0)
	if err != nil || uint64(len(recs)) != st.LastSeq {
		t.Fatalf("read %d records, %v; last %d", len(recs), err, st.LastSeq)
	}
	seen := make(map[string]bool)
	for i, r := range recs {
		id := strings.TrimPrefix(r.Subject, "crash.")
		if r.Seq != uint64(i+1) || seen[id] || !bytes.Equal(r.Payload, crashPayload(id)) {
			t.Fatalf("record %d: seq %d id %s (seen %v) bad payload %v", i+1, r.Seq, id, seen[id], !bytes.Equal(r.Payload, crashPayload(id)))
		}
		seen[id] = true
	}
	for seq, id := range acked {
		if seq > uint64(len(recs)) || recs[seq-1].Subject != "crash."+id {
			t.Fatalf("acknowledged seq %d (%s) lost", seq, id)
		}
	}
}
