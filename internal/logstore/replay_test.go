package logstore_test

import (
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

const replayMillionEnv = "FERRY_REPLAY_MILLION" // =1: TestReplay stores a million records

// countFS is the OS file system counting the bytes read through ReadAt.
type countFS struct {
	logstore.OSFS
	read  atomic.Int64
	calls atomic.Int64
}

func (c *countFS) OpenFile(name string, flag int, perm fs.FileMode) (logstore.File, error) {
	f, err := c.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &countFile{File: f, fs: c}, nil
}

func (c *countFS) reset() { c.read.Store(0); c.calls.Store(0) }

type countFile struct {
	logstore.File
	fs *countFS
}

func (f *countFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(b, off)
	f.fs.read.Add(int64(n))
	f.fs.calls.Add(1)
	return n, err
}

// replayPayload is record i's payload: 200 bytes starting with i.
func replayPayload(i uint64) []byte {
	b := make([]byte, 200)
	binary.LittleEndian.PutUint64(b, i)
	return b
}

// TestReplay stores a log of small records one millisecond apart (100k by
// default, a million with FERRY_REPLAY_MILLION=1), reopens it, replays it
// from the start checking count and order, then finds the middle by time
// and reads from there, checking through a counting FS that this read a
// small fraction of the bytes before the middle, not the whole log.
func TestReplay(t *testing.T) {
	n := uint64(100_000)
	if os.Getenv(replayMillionEnv) == "1" {
		n = 1_000_000
	}
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	fsys := &countFS{}
	cfg := logstore.Config{Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}, MaxSegmentBytes: 16 << 20, Clock: clk, FS: fsys}
	l := open(t, dir, cfg)
	start := time.Now()
	for i := uint64(1); i <= n; i++ {
		if _, _, err := l.Append(context.Background(), logstore.Record{Subject: "replay", Payload: replayPayload(i)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	t.Logf("stored %d records in %v", n, time.Since(start).Round(time.Millisecond))
	closeLog(t, l)

	start = time.Now()
	l = open(t, dir, cfg)
	st := l.State()
	t.Logf("reopened %d MiB in %d segments in %v", st.Bytes>>20, st.Segments, time.Since(start).Round(time.Millisecond))
	if st.Msgs != n || st.LastSeq != n {
		t.Fatalf("state %+v, want %d records", st, n)
	}

	fsys.reset()
	start = time.Now()
	next := uint64(1)
	for next <= n {
		recs, err := l.ReadBatch(next, 1000, 0)
		if err != nil || len(recs) == 0 {
			t.Fatalf("ReadBatch(%d): %d records, %v", next, len(recs), err)
		}
		for _, r := range recs {
			if r.Seq != next || binary.LittleEndian.Uint64(r.Payload) != next {
				t.Fatalf("record %d: seq %d payload %d", next, r.Seq, binary.LittleEndian.Uint64(r.Payload))
			}
			next++
		}
	}
	took := time.Since(start)
	t.Logf("replayed %d records (%d MiB read) from the start in %v: %.0f records/s, %.0f MB/s",
		n, fsys.read.Load()>>20, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(st.Bytes)/took.Seconds()/1e6)

	mid := n / 2
	fsys.reset()
	start = time.Now()
	seq, err := l.SeqForTime(t0.Add(time.Duration(mid-1) * time.Millisecond))
	if err != nil || seq != mid {
		t.Fatalf("SeqForTime(middle) = %d, %v; want %d", seq, err, mid)
	}
	recs, err := l.ReadBatch(seq, 1000, 0)
	took = time.Since(start)
	if err != nil || len(recs) != 1000 || recs[0].Seq != mid || recs[999].Seq != mid+999 {
		t.Fatalf("ReadBatch(%d): %d records, %v", seq, len(recs), err)
	}
	before := st.Bytes * int64(mid-1) / int64(n) // bytes of the records before the middle
	read := fsys.read.Load()
	t.Logf("from the middle by time: %d records in %v, %d KiB read in %d preads (%.2f%% of the %d MiB before it)",
		len(recs), took.Round(time.Microsecond), read>>10, fsys.calls.Load(), 100*float64(read)/float64(before), before>>20)
	if read*20 > before {
		t.Fatalf("reading from the middle read %d bytes, not < 5%% of the %d before it", read, before)
	}
}
