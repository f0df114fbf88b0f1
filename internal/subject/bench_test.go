package subject

import (
	"strconv"
	"testing"
)

// benchIndex returns an index with a realistic mix of 1000 subscriptions.
func benchIndex(b *testing.B) *Index[int] {
	x := NewIndex[int]()
	for i := range 1000 {
		id := strconv.Itoa(i)
		var p string
		switch i % 4 {
		case 0:
			p = "orders." + id + ".created"
		case 1:
			p = "orders.*.created." + id
		case 2:
			p = "events." + id + ".>"
		default:
			p = "metrics.host" + id + ".cpu"
		}
		mustInsert(b, x, p, i)
	}
	mustInsert(b, x, "orders.>", -1)
	return x
}

// distinctSubjects returns n distinct subjects that all hit the index.
func distinctSubjects(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte("orders." + strconv.Itoa(i%1000) + ".created." + strconv.Itoa(i))
	}
	return out
}

func BenchmarkMatchCached(b *testing.B) {
	x := benchIndex(b)
	subs := distinctSubjects(64)
	for _, s := range subs {
		x.MatchBytes(s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.MatchBytes(subs[i%len(subs)])
	}
}

func BenchmarkMatchCachedParallel(b *testing.B) {
	x := benchIndex(b)
	subs := distinctSubjects(64)
	for _, s := range subs {
		x.MatchBytes(s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			x.MatchBytes(subs[i%len(subs)])
		}
	})
}

// BenchmarkMatchUncached cycles through 16x more distinct subjects than the
// cache holds, so nearly every call walks the trie, allocates the result
// and pays its share of eviction.
func BenchmarkMatchUncached(b *testing.B) {
	x := benchIndex(b)
	subs := distinctSubjects(16 * cacheSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.MatchBytes(subs[i%len(subs)])
	}
}

func BenchmarkInsert(b *testing.B) {
	pats := make([]string, 1<<16)
	for i := range pats {
		pats[i] = "orders." + strconv.Itoa(i%512) + ".*.created." + strconv.Itoa(i)
	}
	x := NewIndex[int]()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%len(pats) == 0 {
			b.StopTimer()
			x = NewIndex[int]()
			b.StartTimer()
		}
		if err := x.Insert(pats[i%len(pats)], i); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch100kLiterals indexes 100k distinct literal subjects.
func BenchmarkMatch100kLiterals(b *testing.B) {
	const n = 100_000
	x := NewIndex[int]()
	subs := make([][]byte, n)
	for i := range subs {
		s := "tenant" + strconv.Itoa(i%100) + ".orders." + strconv.Itoa(i) + ".created"
		subs[i] = []byte(s)
		mustInsert(b, x, s, i)
	}
	b.Run("hot", func(b *testing.B) { // a small working set: cache hits
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if len(x.MatchBytes(subs[(i%256)*391])) != 1 {
				b.Fatal("no match")
			}
		}
	})
	b.Run("all", func(b *testing.B) { // cycling through all 100k: misses
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if len(x.MatchBytes(subs[i%n])) != 1 {
				b.Fatal("no match")
			}
		}
	})
}

func BenchmarkValidatePublish(b *testing.B) {
	s := "orders.eu-west-1.created.customer-42.v2"
	bs := []byte(s)
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if ValidatePublish(s) != nil {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(bs)))
		for b.Loop() {
			if ValidatePublishBytes(bs) != nil {
				b.Fatal("invalid")
			}
		}
	})
}

func BenchmarkMatchNaive(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Match("orders.*.created.>", "orders.eu.created.x.y")
	}
}
