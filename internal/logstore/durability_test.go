package logstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

var errDisk = errors.New("injected: EIO")

// TestFsyncFailure fails the fsync of one of two logs: its append is not
// acknowledged, it turns read-only for good, reads keep working, and the
// other log is unaffected.
func TestFsyncFailure(t *testing.T) {
	badFS, goodFS := &faultFS{}, &faultFS{}
	bad := open(t, t.TempDir(), logstore.Config{FS: badFS})
	good := open(t, t.TempDir(), logstore.Config{FS: goodFS})
	appendRecs(t, bad, 1, 5)
	appendRecs(t, good, 1, 5)

	badFS.failSyncs(errDisk)
	_, _, err := bad.Append(t.Context(), rec(6))
	if !errors.Is(err, logstore.ErrReadOnly) || !errors.Is(err, errDisk) {
		t.Fatalf("Append with failing fsync: %v; want ErrReadOnly wrapping the cause", err)
	}
	st := bad.State()
	if !errors.Is(st.ReadOnly, errDisk) || st.LastSeq != 5 {
		t.Fatalf("state %+v: want read-only, record 6 not visible", st)
	}
	if _, err := bad.Read(6); !errors.Is(err, logstore.ErrNotFound) {
		t.Fatalf("unacknowledged record readable: %v", err)
	}
	badFS.failSyncs(nil) // the disk "recovers": the log must not
	syncs := badFS.segSyncs.Load()
	_, _, err = bad.Append(t.Context(), rec(6))
	if !errors.Is(err, logstore.ErrReadOnly) || badFS.segSyncs.Load() != syncs {
		t.Fatalf("append after failure: %v (fsyncs %d -> %d); want ErrReadOnly, no retry", err, syncs, badFS.segSyncs.Load())
	}
	checkRecs(t, bad, 1, 5)
	appendRecs(t, good, 6, 10)
	checkRecs(t, good, 1, 10)
}

// TestFsyncFailurePending fails an fsync while more appends wait behind
// it: every one of them fails, none is acknowledged.
func TestFsyncFailurePending(t *testing.T) {
	fsys := &faultFS{}
	l := open(t, t.TempDir(), logstore.Config{FS: fsys})
	appendRecs(t, l, 1, 3)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	fsys.setHook(func() {
		once.Do(func() { close(entered) })
		<-release
	})
	const n = 10
	errs := make(chan error, n)
	appendOne := func(i int) {
		_, _, err := l.Append(context.Background(), rec(100+i))
		errs <- err
	}
	go appendOne(0)
	<-entered // the first fsync is stuck; queue more behind it
	for i := 1; i < n; i++ {
		go appendOne(i)
	}
	fsys.failSyncs(errDisk)
	close(release)
	for range n {
		if err := <-errs; !errors.Is(err, logstore.ErrReadOnly) {
			t.Fatalf("pending append: %v; want ErrReadOnly", err)
		}
	}
	if st := l.State(); st.LastSeq != 3 || st.ReadOnly == nil {
		t.Fatalf("state %+v", st)
	}
	checkRecs(t, l, 1, 3)
}

// TestGroupCommit runs concurrent appenders on a slow disk and counts
// fsyncs: they are shared.
func TestGroupCommit(t *testing.T) {
	fsys := &faultFS{delay: time.Millisecond}
	l := open(t, t.TempDir(), logstore.Config{FS: fsys})
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, _, err := l.Append(context.Background(), rec(w*100+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	syncs := fsys.segSyncs.Load()
	t.Logf("%d appends, %d fsyncs", writers*each, syncs)
	if syncs >= writers*each/2 {
		t.Fatalf("%d fsyncs for %d appends: no group commit", syncs, writers*each)
	}
	if st := l.State(); st.Msgs != writers*each {
		t.Fatalf("state %+v", st)
	}
}

// TestSyncInterval acknowledges before fsync and fsyncs on the timer; a
// failed timer fsync turns the log read-only.
func TestSyncInterval(t *testing.T) {
	fsys := &faultFS{}
	clk := clock.NewFake(t0)
	l := open(t, t.TempDir(), logstore.Config{FS: fsys, Clock: clk,
		Sync: logstore.SyncPolicy{Mode: logstore.SyncInterval, Interval: 200 * time.Millisecond}})
	appendRecs(t, l, 1, 10)
	if n := fsys.segSyncs.Load(); n != 0 {
		t.Fatalf("%d fsyncs before the interval", n)
	}
	clk.Advance(200 * time.Millisecond)
	waitFor(t, "interval fsync", func() bool { return fsys.segSyncs.Load() == 1 })
	waitFor(t, "next timer", func() bool { return clk.Pending() == 1 })
	clk.Advance(200 * time.Millisecond) // nothing written: no fsync
	waitFor(t, "next timer", func() bool { return clk.Pending() == 1 })

	appendRecs(t, l, 11, 12)
	fsys.failSyncs(errDisk)
	clk.Advance(200 * time.Millisecond)
	waitFor(t, "read-only", func() bool { return l.State().ReadOnly != nil })
	if _, _, err := l.Append(t.Context(), rec(13)); !errors.Is(err, logstore.ErrReadOnly) {
		t.Fatalf("append after failed interval fsync: %v", err)
	}
	checkRecs(t, l, 1, 12)
	if fsys.segSyncs.Load() != 1 {
		t.Fatalf("fsyncs %d, want 1", fsys.segSyncs.Load())
	}
}

// TestSyncNever never fsyncs on append; sealing and Close still do.
func TestSyncNever(t *testing.T) {
	fsys := &faultFS{}
	dir := t.TempDir()
	l := open(t, dir, logstore.Config{FS: fsys, Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}})
	appendRecs(t, l, 1, 50)
	if n := fsys.segSyncs.Load(); n != 0 {
		t.Fatalf("%d fsyncs", n)
	}
	closeLog(t, l)
	if n := fsys.segSyncs.Load(); n != 1 {
		t.Fatalf("%d fsyncs after Close, want 1", n)
	}
	checkRecs(t, open(t, dir, logstore.Config{}), 1, 50)
}

// TestRollover checks segments roll at MaxSegmentBytes, the directory is
// fsynced for each new segment and each removed one, and the log reopens.
func TestRollover(t *testing.T) {
	fsys := &faultFS{}
	dir := t.TempDir()
	cfg := logstore.Config{FS: fsys, MaxSegmentBytes: 1 << 10, Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}}
	l := open(t, dir, cfg)
	dirSyncs := fsys.dirSyncs.Load() // the first segment's
	appendRecs(t, l, 1, 100)
	big := logstore.Record{Subject: "big", Payload: make([]byte, 3<<10)} // larger than a segment: alone in one
	if seq, _, err := l.Append(t.Context(), big); err != nil || seq != 101 {
		t.Fatalf("big append: %d %v", seq, err)
	}
	appendRecs(t, l, 102, 110)
	segs := segFiles(t, dir)
	if st := l.State(); st.Segments != len(segs) || len(segs) < 5 {
		t.Fatalf("state %+v, files %d", st, len(segs))
	}
	if got := fsys.dirSyncs.Load() - dirSyncs; got != int64(len(segs)-1) {
		t.Fatalf("%d directory fsyncs for %d new segments", got, len(segs)-1)
	}
	for _, s := range segs {
		fr := frames(t, s)
		if size := fileSize(t, s); size > 1<<10 && len(fr) > 1 {
			t.Fatalf("%s: %d bytes in %d records over the limit", s, size, len(fr))
		}
	}
	closeLog(t, l)
	l = open(t, dir, cfg)
	checkRecs(t, l, 1, 100)
	checkRecs(t, l, 102, 110)

}

// TestRetentionFiles checks retention removes the files of whole sealed
// segments, fsyncs the directory once, and the log reopens after it.
func TestRetentionFiles(t *testing.T) {
	fsys := &faultFS{}
	dir := t.TempDir()
	cfg := logstore.Config{FS: fsys, MaxSegmentBytes: 1 << 10, Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}}
	l := open(t, dir, cfg)
	appendRecs(t, l, 1, 100)
	closeLog(t, l)
	before := len(segFiles(t, dir))

	cfg.Retention.MaxMsgs = 10
	l = open(t, dir, cfg)
	syncs := fsys.dirSyncs.Load()
	if err := l.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	if got := fsys.dirSyncs.Load() - syncs; got != 1 {
		t.Fatalf("%d directory fsyncs for one retention pass", got)
	}
	if err := l.ApplyRetention(); err != nil || fsys.dirSyncs.Load()-syncs != 1 {
		t.Fatalf("idle retention pass: %v, fsynced the directory again", err)
	}
	st := l.State()
	segs := segFiles(t, dir)
	if st.Segments != len(segs) || len(segs) >= before || st.Msgs < 10 || st.LastSeq != 100 {
		t.Fatalf("state %+v, %d of %d segment files left", st, len(segs), before)
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "*.idx"))
	if len(idx) != len(segs)-1 {
		t.Fatalf("%d index files for %d sealed segments", len(idx), len(segs)-1)
	}
	closeLog(t, l)
	l = open(t, dir, cfg)
	if got := l.State(); got.FirstSeq != st.FirstSeq || got.Msgs != st.Msgs {
		t.Fatalf("reopened %+v, want %+v", got, st)
	}
	checkRecs(t, l, int(st.FirstSeq), 100)
}

// TestCloseWhileAppending closes a log under concurrent appends: each
// append either fails with ErrClosed or is acknowledged and survives
// reopening.
func TestCloseWhileAppending(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, logstore.Config{MaxSegmentBytes: 4 << 10})
	var mu sync.Mutex
	acked := make(map[uint64]string)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r := rec(w*100000 + i)
				seq, _, err := l.Append(context.Background(), r)
				if errors.Is(err, logstore.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[seq] = string(r.Payload)
				mu.Unlock()
			}
		})
	}
	waitFor(t, "some appends", func() bool { return l.State().LastSeq >= 50 })
	closeLog(t, l)
	wg.Wait()
	l = open(t, dir, logstore.Config{})
	for seq, payload := range acked {
		r, err := l.Read(seq)
		if err != nil || string(r.Payload) != payload {
			t.Fatalf("acknowledged seq %d: %q, %v", seq, r.Payload, err)
		}
	}
}
