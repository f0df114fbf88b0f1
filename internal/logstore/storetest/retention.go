package storetest

import (
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

// segBytes is the segment size the retention tests ask for; perSeg bounds
// how many fixed records one holds: a storage may keep that many more than
// a limit, never fewer.
const (
	segBytes = 2 << 10
)

func perSeg() uint64 {
	r := fixedRecord(0)
	return uint64(segBytes/r.Size() + 1)
}

// checkRetained checks the log keeps exactly a suffix ending at last that
// includes seq keepFrom, has dropped something, and is at most slack
// records longer than needed.
func checkRetained(t *testing.T, s logstore.Storage, last, keepFrom uint64, slack uint64) {
	t.Helper()
	st := s.State()
	recs := readAll(t, s)
	if st.LastSeq != last || st.FirstSeq > keepFrom {
		t.Fatalf("state %+v: want last %d and first <= %d", st, last, keepFrom)
	}
	if st.FirstSeq == 1 || keepFrom-st.FirstSeq > slack {
		t.Fatalf("state %+v: retention kept too much (first should be in (%d, %d])", st, keepFrom-min(slack, keepFrom-1), keepFrom)
	}
	if _, err := s.Read(st.FirstSeq - 1); err == nil {
		t.Fatalf("Read(%d) below first succeeded", st.FirstSeq-1)
	}
	for _, r := range recs {
		sameRecord(t, r, fixedRecord(int(r.Seq)), r.Seq)
	}
	if seq, err := s.SeqForTime(T0.Add(-time.Hour)); err != nil || seq != st.FirstSeq {
		t.Fatalf("SeqForTime(before all) = %d, %v; want first %d", seq, err, st.FirstSeq)
	}
}

func testRetentionMsgs(t *testing.T, open Opener) {
	const n, limit = 500, 60
	e := newEnv(t, open, logstore.Config{MaxSegmentBytes: segBytes, Retention: logstore.Retention{MaxMsgs: limit}})
	e.appendN(n, fixedRecord)
	if err := e.s.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	checkRetained(t, e.s, n, n-limit+1, perSeg())
}

func testRetentionBytes(t *testing.T, open Opener) {
	const n = 500
	r := fixedRecord(0)
	limit := int64(40*r.Size() + 10)
	e := newEnv(t, open, logstore.Config{MaxSegmentBytes: segBytes, Retention: logstore.Retention{MaxBytes: limit}})
	e.appendN(n, fixedRecord)
	if err := e.s.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	checkRetained(t, e.s, n, n-40+1, perSeg())
}

func testRetentionAge(t *testing.T, open Opener) {
	const n, maxAge = 300, 100 * time.Second
	e := newEnv(t, open, logstore.Config{MaxSegmentBytes: segBytes, Retention: logstore.Retention{MaxAge: maxAge}})
	for i := 1; i <= n; i++ { // record i at T0 + (i-1)s
		e.append(fixedRecord(i))
		if i < n {
			e.clk.Advance(time.Second)
		}
	}
	e.clk.Advance(30 * time.Second)
	if err := e.s.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	// now = T0 + (n-1+30)s; records younger than maxAge: i-1 >= n-1+30-100.
	keepFrom := uint64(n + 30 - 100)
	checkRetained(t, e.s, n, keepFrom, perSeg())
	e.clk.Advance(time.Hour)
	if err := e.s.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	if st := e.s.State(); st.LastSeq != n || st.FirstSeq < keepFrom+1 {
		t.Fatalf("after an hour: %+v", st)
	}
	readAll(t, e.s)
}
