package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

func testDedupe(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{DedupeWindow: 10 * time.Second})
	a := logstore.Record{Subject: "s", Payload: []byte("first"), MsgID: "a"}
	if seq, dup := e.append(a); seq != 1 || dup {
		t.Fatalf("first append: %d %v", seq, dup)
	}
	e.clk.Advance(5 * time.Second)
	again := a
	again.Payload = []byte("second")
	if seq, dup := e.append(again); seq != 1 || !dup {
		t.Fatalf("duplicate within window: seq %d dup %v; want 1 true", seq, dup)
	}
	if st := e.s.State(); st.LastSeq != 1 || st.Msgs != 1 {
		t.Fatalf("duplicate stored: %+v", st)
	}
	if seq, dup := e.append(logstore.Record{Subject: "s", MsgID: "b"}); seq != 2 || dup {
		t.Fatalf("other id: %d %v", seq, dup)
	}
	for i := range 2 { // no MsgID: never a duplicate
		if seq, dup := e.append(logstore.Record{Subject: "s"}); seq != uint64(3+i) || dup {
			t.Fatalf("no id: %d %v", seq, dup)
		}
	}
	e.clk.Advance(5 * time.Second) // "a" is now exactly 10s old: out of the window
	if seq, dup := e.append(again); seq != 5 || dup {
		t.Fatalf("after window: seq %d dup %v; want 5 false", seq, dup)
	}
	if seq, dup := e.append(logstore.Record{Subject: "s", MsgID: "b"}); seq != 2 || !dup {
		t.Fatalf("b within window: %d %v", seq, dup)
	}
	r, err := e.s.Read(1)
	if err != nil || string(r.Payload) != "first" {
		t.Fatalf("original overwritten: %q %v", r.Payload, err)
	}
}

func testDedupeConcurrent(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{DedupeWindow: time.Minute})
	const n = 16
	var wg sync.WaitGroup
	seqs := make([]uint64, n)
	dups := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			seqs[i], dups[i], errs[i] = e.s.Append(t.Context(), logstore.Record{Subject: "s", MsgID: "same"})
		})
	}
	wg.Wait()
	originals := 0
	for i := range n {
		if errs[i] != nil || seqs[i] != 1 {
			t.Fatalf("append %d: seq %d err %v", i, seqs[i], errs[i])
		}
		if !dups[i] {
			originals++
		}
	}
	if originals != 1 || e.s.State().LastSeq != 1 {
		t.Fatalf("%d originals, state %+v; want exactly one stored", originals, e.s.State())
	}
}

func testDedupeDisabled(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{})
	for i := 1; i <= 3; i++ {
		if seq, dup := e.append(logstore.Record{Subject: "s", MsgID: "x"}); seq != uint64(i) || dup {
			t.Fatalf("append %d without window: %d %v", i, seq, dup)
		}
	}
}

// readAll reads the whole log and checks the records are consecutive and
// State's counts agree with them.
func readAll(t *testing.T, s logstore.Storage) []logstore.Record {
	t.Helper()
	st := s.State()
	recs, err := s.ReadBatch(0, 0, 0)
	if err != nil {
		t.Fatalf("ReadBatch: %v", err)
	}
	var bytes int64
	for i, r := range recs {
		if r.Seq != st.FirstSeq+uint64(i) {
			t.Fatalf("record %d has seq %d, first %d", i, r.Seq, st.FirstSeq)
		}
		bytes += int64(r.Size())
	}
	if uint64(len(recs)) != st.Msgs || st.LastSeq != st.FirstSeq+st.Msgs-1 || st.Bytes != bytes {
		t.Fatalf("state %+v disagrees with %d records of %d bytes", st, len(recs), bytes)
	}
	return recs
}
