package logstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

// TestReopen checks records, times and state survive Close and OpenFile.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	cfg := logstore.Config{Clock: clk, MaxSegmentBytes: 2 << 10}
	l := open(t, dir, cfg)
	for i := 1; i <= 100; i++ {
		appendRecs(t, l, i, i)
		clk.Advance(time.Second)
	}
	want := l.State()
	wantRecs, err := l.ReadBatch(1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeLog(t, l)
	l = open(t, dir, cfg)
	if got := l.State(); !reflect.DeepEqual(got, want) {
		t.Fatalf("state after reopen %+v, want %+v", got, want)
	}
	gotRecs, err := l.ReadBatch(1, 0, 0)
	if err != nil || !reflect.DeepEqual(gotRecs, wantRecs) {
		t.Fatalf("records differ after reopen: %v", err)
	}
	if seq, _ := l.SeqForTime(t0.Add(50 * time.Second)); seq != 51 {
		t.Fatalf("SeqForTime after reopen = %d", seq)
	}
	appendRecs(t, l, 101, 101)
	if r, _ := l.Read(101); !r.Time.Equal(t0.Add(100 * time.Second)) {
		t.Fatalf("time after reopen %v", r.Time)
	}
}

// TestDedupeReopen checks the dedupe window is rebuilt from the log on
// open: IDs inside the window still dedupe, older ones do not.
func TestDedupeReopen(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	cfg := logstore.Config{Clock: clk, DedupeWindow: time.Minute, MaxSegmentBytes: 1 << 10}
	l := open(t, dir, cfg)
	appendID := func(l *logstore.FileLog, id string) (uint64, bool) {
		t.Helper()
		seq, dup, err := l.Append(t.Context(), logstore.Record{Subject: "s", MsgID: id, Payload: make([]byte, 50)})
		if err != nil {
			t.Fatal(err)
		}
		return seq, dup
	}
	appendID(l, "old") // seq 1 at t0
	clk.Advance(45 * time.Second)
	for i := range 30 { // seqs 2..31 at t0+45s
		appendID(l, string(rune('a'+i)))
	}
	closeLog(t, l)
	clk.Advance(30 * time.Second) // "old" is 75s old, the rest 30s

	l = open(t, dir, cfg)
	if seq, dup := appendID(l, "c"); seq != 4 || !dup {
		t.Fatalf("recent id after reopen: seq %d dup %v; want 4 true", seq, dup)
	}
	if seq, dup := appendID(l, "old"); seq != 32 || dup {
		t.Fatalf("expired id after reopen: seq %d dup %v; want 32 false", seq, dup)
	}
}
