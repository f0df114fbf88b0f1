package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

// Opener opens a fresh, empty storage with cfg for one test.
type Opener func(t *testing.T, cfg logstore.Config) logstore.Storage

// T0 is the fake clock's starting time in every suite test.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the suite against the storages open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Empty", testEmpty},
		{"AppendRead", testAppendRead},
		{"Times", testTimes},
		{"ReadBatch", testReadBatch},
		{"SeqForTime", testSeqForTime},
		{"Dedupe", testDedupe},
		{"DedupeConcurrent", testDedupeConcurrent},
		{"DedupeDisabled", testDedupeDisabled},
		{"RetentionMsgs", testRetentionMsgs},
		{"RetentionBytes", testRetentionBytes},
		{"RetentionAge", testRetentionAge},
		{"ConcurrentAppends", testConcurrentAppends},
		{"TooLarge", testTooLarge},
		{"CanceledContext", testCanceled},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

// env is one test's storage and clock.
type env struct {
	t   *testing.T
	s   logstore.Storage
	clk *clock.Fake
}

func newEnv(t *testing.T, open Opener, cfg logstore.Config) *env {
	t.Helper()
	clk := clock.NewFake(T0)
	cfg.Clock = clk
	return &env{t: t, s: open(t, cfg), clk: clk}
}

func (e *env) append(r logstore.Record) (uint64, bool) {
	e.t.Helper()
	seq, dup, err := e.s.Append(context.Background(), r)
	if err != nil {
		e.t.Fatalf("Append(%s): %v", r.Subject, err)
	}
	return seq, dup
}

// record returns the i'th test record: varied fields, deterministic.
func record(i int) logstore.Record {
	r := logstore.Record{
		Subject: fmt.Sprintf("orders.eu.%d", i),
		Payload: bytes.Repeat([]byte{byte(i)}, i%50),
	}
	if i%3 == 0 {
		r.Headers = []byte(fmt.Sprintf("k=%d", i))
	}
	return r
}

// fixedRecord returns a record of a size that does not depend on i.
func fixedRecord(i int) logstore.Record {
	return logstore.Record{Subject: fmt.Sprintf("fixed.%06d", i), Payload: make([]byte, 100)}
}

func (e *env) appendN(n int, mk func(int) logstore.Record) {
	e.t.Helper()
	for i := 1; i <= n; i++ {
		if seq, _ := e.append(mk(i)); seq != uint64(i) {
			e.t.Fatalf("append %d got seq %d", i, seq)
		}
	}
}

// sameRecord checks got against want, which has no Seq or Time.
func sameRecord(t *testing.T, got, want logstore.Record, seq uint64) {
	t.Helper()
	if got.Seq != seq || got.Subject != want.Subject || !bytes.Equal(got.Headers, want.Headers) ||
		!bytes.Equal(got.Payload, want.Payload) || got.MsgID != want.MsgID {
		t.Fatalf("record %d = %+v, want %+v", seq, got, want)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err %v, want %v", what, err, target)
	}
}

func testEmpty(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{})
	st := e.s.State()
	if st.FirstSeq != 1 || st.LastSeq != 0 || st.Msgs != 0 || st.Bytes != 0 || st.ReadOnly != nil {
		t.Fatalf("empty state %+v", st)
	}
	_, err := e.s.Read(1)
	wantErr(t, err, logstore.ErrNotFound, "Read(1)")
	_, err = e.s.Read(0)
	wantErr(t, err, logstore.ErrNotFound, "Read(0)")
	if recs, err := e.s.ReadBatch(1, 10, 0); err != nil || len(recs) != 0 {
		t.Fatalf("ReadBatch = %d records, %v", len(recs), err)
	}
	if seq, err := e.s.SeqForTime(T0); err != nil || seq != 1 {
		t.Fatalf("SeqForTime = %d, %v; want 1", seq, err)
	}
}

func testAppendRead(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{})
	const n = 200
	var size int64
	for i := 1; i <= n; i++ {
		r := record(i)
		if i%7 == 0 {
			r.MsgID = fmt.Sprintf("id-%d", i)
		}
		size += int64(r.Size())
		seq, dup := e.append(r)
		if seq != uint64(i) || dup {
			t.Fatalf("append %d: seq %d dup %v", i, seq, dup)
		}
		e.clk.Advance(time.Millisecond)
	}
	for i := 1; i <= n; i++ {
		got, err := e.s.Read(uint64(i))
		if err != nil {
			t.Fatalf("Read(%d): %v", i, err)
		}
		want := record(i)
		if i%7 == 0 {
			want.MsgID = fmt.Sprintf("id-%d", i)
		}
		sameRecord(t, got, want, uint64(i))
		if wantT := T0.Add(time.Duration(i-1) * time.Millisecond); !got.Time.Equal(wantT) {
			t.Fatalf("Read(%d).Time = %v, want %v", i, got.Time, wantT)
		}
	}
	_, err := e.s.Read(n + 1)
	wantErr(t, err, logstore.ErrNotFound, "Read past last")
	st := e.s.State()
	if st.FirstSeq != 1 || st.LastSeq != n || st.Msgs != n || st.Bytes != size {
		t.Fatalf("state %+v, want 1..%d, %d bytes", st, n, size)
	}
	if !st.FirstTime.Equal(T0) || !st.LastTime.Equal(T0.Add((n-1)*time.Millisecond)) {
		t.Fatalf("state times %v..%v", st.FirstTime, st.LastTime)
	}
}

func testTimes(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{})
	given := T0.Add(-time.Hour)
	e.append(logstore.Record{Subject: "a", Time: given})
	e.append(logstore.Record{Subject: "b", Time: given.Add(-time.Minute)}) // earlier: raised
	e.append(logstore.Record{Subject: "c"})                                // zero: the clock
	want := []time.Time{given, given, T0}
	for i, w := range want {
		r, err := e.s.Read(uint64(i + 1))
		if err != nil || !r.Time.Equal(w) {
			t.Fatalf("Read(%d).Time = %v, %v; want %v", i+1, r.Time, err, w)
		}
	}
}
