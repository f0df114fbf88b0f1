package logstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ferrymq/ferry/internal/logstore"
)

func benchRecord() logstore.Record {
	return logstore.Record{Subject: "bench.orders.created", Headers: []byte("k=v"), Payload: make([]byte, 256)}
}

// benchAppend appends b.N records from the given number of goroutines and
// reports fsyncs and messages per second (MB/s comes from SetBytes).
func benchAppend(b *testing.B, policy logstore.SyncPolicy, appenders int) {
	fsys := &faultFS{}
	l, err := logstore.OpenFile(b.TempDir(), logstore.Config{Sync: policy, FS: fsys})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := benchRecord()
	b.SetBytes(int64(r.Size()))
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / appenders
	for a := range appenders {
		n := per
		if a == 0 {
			n += b.N % appenders
		}
		wg.Go(func() {
			for range n {
				if _, _, err := l.Append(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(fsys.segSyncs.Load())/float64(b.N), "fsyncs/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAppend appends 300-byte records (256-byte payload) under each
// sync policy from 1 and 16 concurrent appenders, and 8 and 64 with
// SyncAlways to show group commit.
func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		sync      string
		appenders []int
	}{
		{"always", []int{1, 8, 16, 64}},
		{"interval:200ms", []int{1, 16}},
		{"never", []int{1, 16}},
	} {
		policy, err := logstore.ParseSync(tc.sync)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range tc.appenders {
			b.Run(fmt.Sprintf("sync=%s/appenders=%d", tc.sync, n), func(b *testing.B) { benchAppend(b, policy, n) })
		}
	}
}

func BenchmarkAppendMemory(b *testing.B) {
	m, err := logstore.NewMemory(logstore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	r := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Append(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads random records of a 100k-record log over several
// segments: index lookup, one or two preads, checksum and decode.
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	l, err := logstore.OpenFile(b.TempDir(), logstore.Config{
		Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}, MaxSegmentBytes: 4 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range n {
		if _, _, err := l.Append(context.Background(), benchRecord()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	seq := uint64(1)
	for b.Loop() {
		seq = (seq*7919 + 13) % n
		if _, err := l.Read(seq + 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadBatch reads the log in batches of 100.
func BenchmarkReadBatch(b *testing.B) {
	const n = 20_000
	l, err := logstore.OpenFile(b.TempDir(), logstore.Config{Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range n {
		l.Append(context.Background(), benchRecord())
	}
	b.SetBytes(100 * int64(benchRecord().Size()))
	b.ReportAllocs()
	from := uint64(1)
	for b.Loop() {
		recs, err := l.ReadBatch(from, 100, 0)
		if err != nil || len(recs) == 0 {
			b.Fatal(err)
		}
		from = recs[len(recs)-1].Seq%n + 1
	}
	b.ReportMetric(100*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReplay reads a 100k-record log (30 MB) from the start to the
// end in batches of 1000 after reopening it: the cost of a consumer
// catching up from the beginning.
func BenchmarkReplay(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	cfg := logstore.Config{Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}, MaxSegmentBytes: 8 << 20}
	l, err := logstore.OpenFile(dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		if _, _, err := l.Append(context.Background(), benchRecord()); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if l, err = logstore.OpenFile(dir, cfg); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.SetBytes(n * int64(benchRecord().Size()))
	b.ReportAllocs()
	for b.Loop() {
		got := 0
		for from := uint64(1); from <= n; {
			recs, err := l.ReadBatch(from, 1000, 0)
			if err != nil || len(recs) == 0 {
				b.Fatal(err)
			}
			got += len(recs)
			from = recs[len(recs)-1].Seq + 1
		}
		if got != n {
			b.Fatalf("replayed %d records, want %d", got, n)
		}
	}
	b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
