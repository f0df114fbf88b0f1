package logstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

// model is the naive log the storages are checked against: a slice.
type model struct {
	recs   []logstore.Record // recs[i].Seq == first+i
	first  uint64
	ids    map[string]logstore.Record // MsgID -> the record that stored it
	window time.Duration
	ret    logstore.Retention
	last   time.Time
}

func (m *model) lastSeq() uint64 { return m.first + uint64(len(m.recs)) - 1 }

func (m *model) append(r logstore.Record, now time.Time) (uint64, bool) {
	if orig, ok := m.ids[r.MsgID]; ok && r.MsgID != "" && m.window > 0 && now.Sub(orig.Time) < m.window {
		return orig.Seq, true
	}
	r.Seq = m.lastSeq() + 1
	r.Time = now
	if now.Before(m.last) {
		r.Time = m.last
	}
	m.last = r.Time
	m.recs = append(m.recs, r)
	if r.MsgID != "" {
		m.ids[r.MsgID] = r
	}
	return r.Seq, false
}

func (m *model) read(seq uint64) (logstore.Record, bool) {
	if seq < m.first || seq > m.lastSeq() {
		return logstore.Record{}, false
	}
	return m.recs[seq-m.first], true
}

func (m *model) batch(from uint64, maxMsgs, maxBytes int) []logstore.Record {
	var out []logstore.Record
	total := 0
	for seq := max(from, m.first); seq <= m.lastSeq() && (maxMsgs <= 0 || len(out) < maxMsgs); seq++ {
		r, _ := m.read(seq)
		if maxBytes > 0 && len(out) > 0 && total+r.Size() > maxBytes {
			break
		}
		out, total = append(out, r), total+r.Size()
	}
	return out
}

func (m *model) seqForTime(t time.Time) uint64 {
	for _, r := range m.recs {
		if !r.Time.Before(t) {
			return r.Seq
		}
	}
	return m.lastSeq() + 1
}

func (m *model) bytes() int64 {
	var n int64
	for _, r := range m.recs {
		n += int64(r.Size())
	}
	return n
}

// dropTo follows the storage's retention to first after checking every
// dropped record was one a limit let go.
func (m *model) dropTo(t *testing.T, first uint64, now time.Time) {
	t.Helper()
	if first < m.first {
		t.Fatalf("first seq went back from %d to %d", m.first, first)
	}
	suffix := int64(0) // bytes of the records newer than the one checked
	keepBytes := make(map[uint64]bool)
	for i := len(m.recs) - 1; i >= 0; i-- {
		suffix += int64(m.recs[i].Size())
		keepBytes[m.recs[i].Seq] = m.ret.MaxBytes > 0 && suffix <= m.ret.MaxBytes
	}
	for seq := m.first; seq < first; seq++ {
		r, _ := m.read(seq)
		byMsgs := m.ret.MaxMsgs > 0 && m.lastSeq()-seq >= m.ret.MaxMsgs
		byBytes := m.ret.MaxBytes > 0 && !keepBytes[seq]
		byAge := m.ret.MaxAge > 0 && now.Sub(r.Time) > m.ret.MaxAge
		if !byMsgs && !byBytes && !byAge {
			t.Fatalf("retention dropped seq %d (of %d..%d) that no limit allows", seq, m.first, m.lastSeq())
		}
	}
	m.recs = m.recs[first-m.first:]
	m.first = first
}

// forgetDropped removes dedupe entries whose records are gone: a reopened
// FileLog rebuilds its window from the records it still has.
func (m *model) forgetDropped() {
	for id, r := range m.ids {
		if r.Seq < m.first {
			delete(m.ids, id)
		}
	}
}

type modelRun struct {
	t      *testing.T
	rng    *rand.Rand
	clk    *clock.Fake
	m      *model
	s      logstore.Storage
	reopen func(s logstore.Storage) logstore.Storage // nil: cannot reopen
}

func TestModelFile(t *testing.T) {
	rets := []logstore.Retention{{}, {MaxMsgs: 120}, {MaxBytes: 12 << 10}, {MaxAge: 90 * time.Second},
		{MaxMsgs: 200, MaxBytes: 20 << 10, MaxAge: 2 * time.Minute}}
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			dir := t.TempDir()
			clk := clock.NewFake(t0)
			cfg := logstore.Config{Clock: clk, Retention: rets[seed], DedupeWindow: 10 * time.Second,
				MaxSegmentBytes: 2 << 10, IndexEvery: 256, TrustSealed: seed%2 == 1,
				Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}}
			if seed == 0 {
				cfg.Sync = logstore.SyncPolicy{}
			}
			rng := rand.New(rand.NewPCG(seed, 7))
			reopen := func(s logstore.Storage) logstore.Storage {
				closeLog(t, s.(*logstore.FileLog))
				if rng.IntN(2) == 0 { // and a torn tail for recovery to cut
					segs := segFiles(t, dir)
					garbage := make([]byte, 1+rng.IntN(60))
					for i := range garbage {
						garbage[i] = byte(rng.Uint32())
					}
					appendBytes(t, segs[len(segs)-1], garbage)
				}
				return open(t, dir, cfg)
			}
			runModel(t, rng, clk, cfg, open(t, dir, cfg), reopen, 600)
		})
	}
}

func TestModelMemory(t *testing.T) {
	for seed := range uint64(3) {
		clk := clock.NewFake(t0)
		cfg := logstore.Config{Clock: clk, DedupeWindow: 10 * time.Second, Retention: logstore.Retention{MaxMsgs: 100 * seed}}
		rng := rand.New(rand.NewPCG(seed, 9))
		mem, err := logstore.NewMemory(cfg)
		if err != nil {
			t.Fatal(err)
		}
		runModel(t, rng, clk, cfg, mem, nil, 600)
	}
}

func runModel(t *testing.T, rng *rand.Rand, clk *clock.Fake, cfg logstore.Config, s logstore.Storage,
	reopen func(logstore.Storage) logstore.Storage, ops int) {
	r := &modelRun{t: t, rng: rng, clk: clk, s: s, reopen: reopen,
		m: &model{first: 1, ids: make(map[string]logstore.Record), window: cfg.DedupeWindow, ret: cfg.Retention}}
	for i := range ops {
		r.step(i)
		r.checkState(i)
	}
}

func (r *modelRun) step(i int) {
	t, m := r.t, r.m
	switch p := r.rng.IntN(100); {
	case p < 55:
		r.clk.Advance(time.Duration(r.rng.IntN(3000)) * time.Millisecond)
		rec := logstore.Record{Subject: fmt.Sprintf("m.%d", r.rng.IntN(5)), Payload: make([]byte, r.rng.IntN(300))}
		for j := range rec.Payload {
			rec.Payload[j] = byte(i + j)
		}
		if r.rng.IntN(3) == 0 {
			rec.MsgID = fmt.Sprint("id", r.rng.IntN(20))
		}
		if r.rng.IntN(4) == 0 {
			rec.Headers = []byte("h")
		}
		seq, dup, err := r.s.Append(context.Background(), rec)
		wantSeq, wantDup := m.append(rec, r.clk.Now())
		if err != nil || seq != wantSeq || dup != wantDup {
			t.Fatalf("op %d: Append = %d %v %v; model %d %v", i, seq, dup, err, wantSeq, wantDup)
		}
	case p < 72:
		seq := m.first + uint64(r.rng.IntN(len(m.recs)+4)) - 2
		got, err := r.s.Read(seq)
		want, ok := m.read(seq)
		if ok != (err == nil) || ok && !sameRec(got, want) || !ok && !errors.Is(err, logstore.ErrNotFound) {
			t.Fatalf("op %d: Read(%d) = %+v, %v; model %+v, %v", i, seq, got, err, want, ok)
		}
	case p < 82:
		from := m.first + uint64(r.rng.IntN(len(m.recs)+4)) - 2
		maxMsgs, maxBytes := r.rng.IntN(30)-2, r.rng.IntN(4000)-100
		got, err := r.s.ReadBatch(from, maxMsgs, maxBytes)
		want := m.batch(from, maxMsgs, maxBytes)
		if err != nil || len(got) != len(want) {
			t.Fatalf("op %d: ReadBatch(%d, %d, %d) = %d records, %v; model %d", i, from, maxMsgs, maxBytes, len(got), err, len(want))
		}
		for j := range got {
			if !sameRec(got[j], want[j]) {
				t.Fatalf("op %d: ReadBatch record %d = %+v; model %+v", i, j, got[j], want[j])
			}
		}
	case p < 92:
		at := t0.Add(time.Duration(r.rng.Int64N(int64(r.clk.Now().Sub(t0)+20*time.Second))) - 10*time.Second)
		if got, err := r.s.SeqForTime(at); err != nil || got != m.seqForTime(at) {
			t.Fatalf("op %d: SeqForTime(%v) = %d, %v; model %d", i, at, got, err, m.seqForTime(at))
		}
	case p < 96:
		r.clk.Advance(time.Duration(r.rng.IntN(60)) * time.Second)
		if err := r.s.ApplyRetention(); err != nil {
			t.Fatalf("op %d: ApplyRetention: %v", i, err)
		}
	default:
		if r.reopen != nil {
			r.s = r.reopen(r.s)
			m.dropTo(t, r.s.State().FirstSeq, r.clk.Now())
			m.forgetDropped()
		}
	}
}

func (r *modelRun) checkState(i int) {
	st := r.s.State()
	if st.FirstSeq != r.m.first {
		r.m.dropTo(r.t, st.FirstSeq, r.clk.Now())
	}
	if st.LastSeq != r.m.lastSeq() || st.Msgs != uint64(len(r.m.recs)) || st.Bytes != r.m.bytes() || len(st.Damaged) != 0 {
		r.t.Fatalf("op %d: state %+v; model %d..%d, %d bytes", i, st, r.m.first, r.m.lastSeq(), r.m.bytes())
	}
}

func sameRec(a, b logstore.Record) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Subject == b.Subject && a.MsgID == b.MsgID &&
		bytes.Equal(a.Headers, b.Headers) && bytes.Equal(a.Payload, b.Payload)
}
