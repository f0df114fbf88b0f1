package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logstore"
)

func testReadBatch(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{MaxSegmentBytes: 1 << 10})
	const n = 100
	e.appendN(n, record)
	tests := []struct {
		name             string
		from             uint64
		max, maxBytes    int
		wantFirst, wantN int
	}{
		{name: "all", from: 1, wantFirst: 1, wantN: n},
		{name: "max", from: 10, max: 5, wantFirst: 10, wantN: 5},
		{name: "below first", from: 0, max: 3, wantFirst: 1, wantN: 3},
		{name: "tail", from: 95, max: 50, wantFirst: 95, wantN: 6},
		{name: "past last", from: n + 1, max: 5, wantFirst: n + 1, wantN: 0},
		{name: "one byte still gives one", from: 7, maxBytes: 1, wantFirst: 7, wantN: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := e.s.ReadBatch(tc.from, tc.max, tc.maxBytes)
			if err != nil || len(recs) != tc.wantN {
				t.Fatalf("ReadBatch = %d records, %v; want %d", len(recs), err, tc.wantN)
			}
			for i, r := range recs {
				sameRecord(t, r, record(tc.wantFirst+i), uint64(tc.wantFirst+i))
			}
		})
	}
	t.Run("maxBytes", func(t *testing.T) {
		limit := 0
		for i := 20; i < 30; i++ {
			r := record(i)
			limit += r.Size()
		}
		recs, err := e.s.ReadBatch(20, 0, limit+5)
		if err != nil || len(recs) != 10 {
			t.Fatalf("ReadBatch(maxBytes %d) = %d records, %v; want 10", limit+5, len(recs), err)
		}
	})
}

func testSeqForTime(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{MaxSegmentBytes: 2 << 10, IndexEvery: 256})
	const n = 300
	// Records i = 1..n at T0 + i seconds, three at a time sharing a second.
	for i := 1; i <= n; i++ {
		e.append(record(i))
		if i%3 == 0 {
			e.clk.Advance(time.Second)
		}
	}
	at := func(i int) time.Time { return T0.Add(time.Duration((i-1)/3) * time.Second) }
	tests := []struct {
		name string
		t    time.Time
		want uint64
	}{
		{"before first", T0.Add(-time.Hour), 1},
		{"at first", T0, 1},
		{"exact middle", at(151), 151},
		{"between", at(151).Add(time.Millisecond), 154},
		{"at last", at(n), uint64(n - 2)},
		{"after last", at(n).Add(time.Nanosecond), n + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := e.s.SeqForTime(tc.t); err != nil || got != tc.want {
				t.Fatalf("SeqForTime(%v) = %d, %v; want %d", tc.t, got, err, tc.want)
			}
		})
	}
	for i := 1; i <= n; i += 3 { // every second boundary
		if got, err := e.s.SeqForTime(at(i)); err != nil || got != uint64(i) {
			t.Fatalf("SeqForTime(at(%d)) = %d, %v", i, got, err)
		}
	}
}

func testConcurrentAppends(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{MaxSegmentBytes: 4 << 10})
	const writers, each = 8, 50
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				_, _, err := e.s.Append(t.Context(), record(w*1000+i))
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	recs, err := e.s.ReadBatch(1, 0, 0)
	if err != nil || len(recs) != writers*each {
		t.Fatalf("ReadBatch = %d, %v; want %d", len(recs), err, writers*each)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
}

func testTooLarge(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{MaxRecordBytes: 1 << 10})
	_, _, err := e.s.Append(t.Context(), logstore.Record{Subject: "big", Payload: make([]byte, 2<<10)})
	wantErr(t, err, logstore.ErrTooLarge, "Append(2 KiB)")
	if st := e.s.State(); st.LastSeq != 0 || st.ReadOnly != nil {
		t.Fatalf("state after too large: %+v", st)
	}
	e.append(logstore.Record{Subject: "small", Payload: make([]byte, 512)})
}

func testCanceled(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := e.s.Append(ctx, record(1))
	wantErr(t, err, context.Canceled, "Append(canceled)")
	if st := e.s.State(); st.LastSeq != 0 {
		t.Fatalf("canceled append stored: %+v", st)
	}
}

func testClosed(t *testing.T, open Opener) {
	e := newEnv(t, open, logstore.Config{})
	e.append(record(1))
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, _, err := e.s.Append(t.Context(), record(2))
	wantErr(t, err, logstore.ErrClosed, "Append after Close")
	_, err = e.s.Read(1)
	wantErr(t, err, logstore.ErrClosed, "Read after Close")
	if !errors.Is(e.s.ApplyRetention(), logstore.ErrClosed) {
		t.Fatal("ApplyRetention after Close: want ErrClosed")
	}
}
