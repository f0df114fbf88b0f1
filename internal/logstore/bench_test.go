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
// reports fsyncs per append.
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
}

func BenchmarkAppendSyncAlways(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) { benchAppend(b, logstore.SyncPolicy{}, n) })
	}
}

func BenchmarkAppendSyncNever(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			benchAppend(b, logstore.SyncPolicy{Mode: logstore.SyncNever}, n)
		})
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
	b.ReportAllocs()
	from := uint64(1)
	for b.Loop() {
		recs, err := l.ReadBatch(from, 100, 0)
		if err != nil || len(recs) == 0 {
			b.Fatal(err)
		}
		from = recs[len(recs)-1].Seq%n + 1
	}
}
