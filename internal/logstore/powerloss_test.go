package logstore_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

const (
	plSeed      = 20261204
	plAppenders = 4
	plMaxMsgs   = 150 // count retention, so that old segments are removed
	plLogDir    = "/data/logs/orders"
)

// plPayload is the payload stored for id; the verifier recomputes it.
func plPayload(id string) []byte {
	h := fnv.New32a()
	h.Write([]byte(id))
	n := int(h.Sum32() % 180)
	return bytes.Repeat([]byte(id+";"), n/len(id)+1)[:n]
}

// plAck is one acknowledged append.
type plAck struct {
	id string
	at time.Time // the fake clock when Append returned
}

// plCut says where a round loses power.
type plCut struct {
	acks   int    // after this many acknowledgements in the round, or
	op     int    // just before the op'th file system change, or
	rollOp string // just before the n'th such change on a rollover path
	n      int
	mode   tornMode
}

func (c plCut) String() string {
	switch {
	case c.acks > 0:
		return fmt.Sprintf("after %d acks (torn %d)", c.acks, c.mode)
	case c.op > 0:
		return fmt.Sprintf("before fs op %d (torn %d)", c.op, c.mode)
	}
	return fmt.Sprintf("before %s #%d (torn %d)", c.rollOp, c.n, c.mode)
}

func randomCut(rng *rand.Rand) plCut {
	c := plCut{mode: tornMode(rng.IntN(3))}
	switch rng.IntN(3) {
	case 0:
		c.acks = 1 + rng.IntN(300)
	case 1:
		c.op = 1 + rng.IntN(600)
		if rng.IntN(4) == 0 {
			c.op = 1 + rng.IntN(12) // often while recovering from the last cut
		}
	default:
		c.rollOp = []string{"create", "rename", "dirsync", "remove", "seal"}[rng.IntN(5)]
		c.n = 1 + rng.IntN(8)
	}
	return c
}

// rollOpMatches reports whether a file system change belongs to a cut's
// rollover kind: creating a segment or index, renaming an index into
// place, syncing the directory, removing a segment, or the fsync sealing
// a segment (approximated as any segment fsync).
func rollOpMatches(kind, op, name string) bool {
	switch kind {
	case "create":
		return op == "create"
	case "rename":
		return op == "rename"
	case "dirsync":
		return op == "sync" && !strings.Contains(path2base(name), ".")
	case "remove":
		return op == "remove"
	case "seal":
		return op == "sync" && strings.HasSuffix(name, ".seg")
	}
	return false
}

func path2base(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// plHistory is what a lineage of crashes has acknowledged so far.
type plHistory struct {
	acked   map[uint64]plAck
	lastCut time.Time
}

// TestPowerLoss cuts power at many points chosen from a seed while four
// goroutines append, on a file system that keeps only what was synced
// (file contents and directory entries), then recovers and checks the
// sync policy's promise: with always no acknowledged record is lost, with
// interval:D none acknowledged more than D before the cut, with never the
// log still recovers cleanly. Each lineage crashes the same log several
// times in a row; small segments make rollover and count retention
// frequent.
func TestPowerLoss(t *testing.T) {
	cases := []struct {
		name     string
		sync     logstore.SyncPolicy
		segBytes int64
		cuts     int
		trust    bool // TrustSealed
	}{
		{"always", logstore.SyncPolicy{Mode: logstore.SyncAlways}, 2 << 10, 200, false},
		{"always-trust-sealed", logstore.SyncPolicy{Mode: logstore.SyncAlways}, 2 << 10, 60, true},
		{"interval", logstore.SyncPolicy{Mode: logstore.SyncInterval, Interval: 200 * time.Millisecond}, 2 << 10, 100, false},
		// Segments large enough that records wait in the active one for
		// several intervals: only the interval fsync protects them.
		{"interval-bigseg", logstore.SyncPolicy{Mode: logstore.SyncInterval, Interval: 200 * time.Millisecond}, 1 << 20, 60, false},
		{"never", logstore.SyncPolicy{Mode: logstore.SyncNever}, 2 << 10, 60, false},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(plSeed, uint64(ci)))
			const perLineage = 10
			var (
				fsys *simFS
				hist *plHistory
				clk  *clock.Fake
			)
			total, recovering := 0, 0
			for cut := range tc.cuts {
				if cut%perLineage == 0 {
					fsys, hist, clk = newSimFS("/data"), &plHistory{acked: map[uint64]plAck{}}, clock.NewFake(t0)
				}
				c := randomCut(rng)
				cfg := logstore.Config{
					Sync:            tc.sync,
					MaxSegmentBytes: tc.segBytes,
					IndexEvery:      256,
					Retention:       logstore.Retention{MaxMsgs: plMaxMsgs},
					Clock:           clk,
					TrustSealed:     tc.trust,
				}
				var n int
				var inOpen bool
				fsys, n, inOpen = powerLossRound(t, fsys, cfg, clk, hist, c, rng, cut)
				total += n
				if inOpen {
					recovering++
				}
			}
			t.Logf("%d cuts (%d while recovering from the previous one), %d acknowledged appends checked", tc.cuts, recovering, total)
		})
	}
}

// powerLossRound opens the log on fsys (which a previous round may have
// crashed), verifies it against hist, appends until the cut, cuts power
// and returns the file system left behind and the acknowledgements made.
func powerLossRound(t *testing.T, fsys *simFS, cfg logstore.Config, clk *clock.Fake,
	hist *plHistory, c plCut, rng *rand.Rand, round int) (snap *simFS, acked int, inOpen bool) {
	t.Helper()
	h := &hookFS{simFS: fsys}
	cfg.FS = h
	prevCut := hist.lastCut
	var (
		mu      sync.Mutex // guards everything below
		crashed *simFS
		acks    int
		ops     int
		rollN   int
		opened  bool
	)
	done := make(chan struct{})
	var crashRNG = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	crashLocked := func() { // mu held
		if crashed == nil {
			crashed = fsys.crash(crashRNG, c.mode)
			inOpen = !opened
			hist.cutAt(clk.Now())
			close(done)
		}
	}
	h.hook = func(op, name string) {
		mu.Lock()
		defer mu.Unlock()
		if crashed != nil {
			return
		}
		ops++
		if c.op > 0 && ops == c.op {
			crashLocked()
		}
		if c.rollOp != "" && rollOpMatches(c.rollOp, op, name) {
			if rollN++; rollN == c.n {
				crashLocked()
			}
		}
	}

	// The hook is set before OpenFile, so a cut may come in the middle of
	// recovering from the previous one.
	l, err := logstore.OpenFile(plLogDir, cfg)
	if err != nil {
		t.Fatalf("round %d: OpenFile: %v", round, err)
	}
	mu.Lock()
	opened = true
	mu.Unlock()
	verifyPowerLoss(t, l, hist, cfg.Sync, prevCut, round)

	const maxAppends = 500 // per appender and round: a cut that never comes ends the round
	var wg sync.WaitGroup
	for w := range plAppenders {
		wg.Go(func() {
			for i := range maxAppends {
				id := fmt.Sprintf("r%d-w%d-%d", round, w, i)
				seq, _, err := l.Append(context.Background(), logstore.Record{Subject: "pl." + id, Payload: plPayload(id)})
				mu.Lock()
				if crashed != nil {
					mu.Unlock()
					return
				}
				if err != nil {
					mu.Unlock()
					t.Errorf("round %d: Append: %v", round, err)
					return
				}
				hist.acked[seq] = plAck{id: id, at: clk.Now()}
				if acks++; c.acks > 0 && acks == c.acks {
					crashLocked()
				}
				mu.Unlock()
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	if cfg.Sync.Mode == logstore.SyncInterval {
		// Move the clock in quarter intervals, each time waiting until the
		// writer has taken a due sync tick (it then schedules the next), so
		// that every tick before the clock's time has run.
		step := cfg.Sync.Interval / 4
	advance:
		for {
			select {
			case <-done:
				break advance
			case <-finished:
				break advance
			default:
			}
			clk.Advance(step)
			waitFor(t, "the writer to take the sync tick", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return clk.Pending() == 1 || crashed != nil
			})
		}
	}
	<-finished
	mu.Lock()
	crashLocked() // the cut never came: cut now
	snap = crashed
	mu.Unlock()
	l.Close() // the old log writes on to the old file system; the errors do not matter
	return snap, acks, inOpen
}

// cutAt records the time of a power cut; verification checks against it.
func (h *plHistory) cutAt(t time.Time) { h.lastCut = t }

// verifyPowerLoss checks a log recovered after a cut: no damage, dense
// sequences, each record's payload intact, no id twice, and every record
// the sync policy promised is there, at the sequence it was acknowledged
// with. Records the policy did not promise are forgotten if lost.
func verifyPowerLoss(t *testing.T, l *logstore.FileLog, h *plHistory, p logstore.SyncPolicy, cut time.Time, round int) {
	t.Helper()
	st := l.State()
	if len(st.Damaged) != 0 || st.ReadOnly != nil {
		t.Fatalf("round %d: state after power loss: %+v", round, st)
	}
	var recs []logstore.Record
	for from := st.FirstSeq; from <= st.LastSeq; {
		b, err := l.ReadBatch(from, 1000, 0)
		if err != nil || len(b) == 0 {
			t.Fatalf("round %d: ReadBatch(%d): %d records, %v", round, from, len(b), err)
		}
		recs = append(recs, b...)
		from = b[len(b)-1].Seq + 1
	}
	seen := make(map[string]uint64)
	for i, r := range recs {
		id := strings.TrimPrefix(r.Subject, "pl.")
		if r.Seq != st.FirstSeq+uint64(i) || !bytes.Equal(r.Payload, plPayload(id)) {
			t.Fatalf("round %d: record %d: seq %d id %s, payload ok %v", round, i, r.Seq, id, bytes.Equal(r.Payload, plPayload(id)))
		}
		if prev, dup := seen[id]; dup {
			t.Fatalf("round %d: %s stored twice, at %d and %d", round, id, prev, r.Seq)
		}
		seen[id] = r.Seq
	}
	var maxAcked uint64
	for seq := range h.acked {
		maxAcked = max(maxAcked, seq)
	}
	// A record may be missing at the start only if retention removed it:
	// count retention keeps the newest plMaxMsgs records of the log at the
	// cut, which had at most one unacknowledged record per appender past
	// the newest acknowledged one. At the end nothing promised may miss.
	var retained uint64
	if maxAcked+plAppenders > plMaxMsgs {
		retained = maxAcked + plAppenders - plMaxMsgs + 1
	}
	for seq, a := range h.acked {
		promised := p.Mode == logstore.SyncAlways ||
			p.Mode == logstore.SyncInterval && a.at.Before(cut.Add(-p.Interval))
		got, ok := seen[a.id]
		switch {
		case ok && got != seq:
			t.Fatalf("round %d: %s acknowledged as %d, stored as %d", round, a.id, seq, got)
		case !ok && promised && (seq > st.LastSeq || seq >= retained):
			t.Fatalf("round %d: acknowledged %d (%s, at %v, cut at %v) lost under %v; log holds %d-%d",
				round, seq, a.id, a.at.Sub(t0), cut.Sub(t0), p, st.FirstSeq, st.LastSeq)
		case !ok:
			delete(h.acked, seq) // lost as the policy allows, or removed by retention
		}
	}
	// Sequences past the recovered end will be reused by new appends.
	for seq := range h.acked {
		if seq > st.LastSeq {
			delete(h.acked, seq)
		}
	}
}

// TestNewLogDirSurvivesPowerLoss: a record acknowledged in a brand-new log
// whose directories OpenFile had to create survives a power loss, so
// OpenFile links the new directories durably (fsyncs their parents).
func TestNewLogDirSurvivesPowerLoss(t *testing.T) {
	for _, dir := range []string{"/data/orders", "/data/a/b/c/orders"} {
		t.Run(dir, func(t *testing.T) {
			fsys := newSimFS("/data")
			cfg := logstore.Config{FS: fsys, Clock: clock.NewFake(t0)}
			l, err := logstore.OpenFile(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			appendRecs(t, l, 1, 1)
			crashed := fsys.crash(rand.New(rand.NewPCG(1, 1)), tornNone)
			l.Close()
			cfg.FS = crashed
			l = open(t, dir, cfg)
			if st := l.State(); st.LastSeq != 1 {
				t.Fatalf("after power loss: %+v, want the acknowledged record", st)
			}
			checkRecs(t, l, 1, 1)
		})
	}
}
