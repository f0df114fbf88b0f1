package selector

import (
	"strconv"
	"testing"
)

const benchSelector = "type=camera,region in (eu,us),version!=1,tier,subnet=10.0.1.0/24"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSelector); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatches(b *testing.B) {
	s := MustParse(benchSelector)
	l := Map{"type": "camera", "region": "us", "version": "2", "tier": "gold", "ip": "10.0.1.17", "zone": "b"}
	b.ReportAllocs()
	for b.Loop() {
		if !s.Matches(l) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchesEndpoints selects among 1000 endpoints, as a multicast
// by selector does per message; a quarter of them match.
func BenchmarkMatchesEndpoints(b *testing.B) {
	s := MustParse(benchSelector)
	endpoints := make([]Map, 1000)
	for i := range endpoints {
		endpoints[i] = Map{"type": "camera", "region": []string{"eu", "us"}[i%2], "version": "2",
			"tier": "gold", "ip": "10.0." + strconv.Itoa(i%4) + "." + strconv.Itoa(i%250+1)}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, e := range endpoints {
			if s.Matches(e) {
				n++
			}
		}
		if n != 250 {
			b.Fatalf("%d matches, want 250", n)
		}
	}
}
