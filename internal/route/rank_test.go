package route

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var (
	frankfurt = Candidate{ID: "edge-fra", Region: "eu", HasLocation: true, Lat: 50.1109, Lon: 8.6821}
	virginia  = Candidate{ID: "edge-iad", Region: "us", HasLocation: true, Lat: 38.9519, Lon: -77.4480}
	singapore = Candidate{ID: "edge-sin", Region: "ap", HasLocation: true, Lat: 1.3521, Lon: 103.8198}
	paris     = Origin{HasLocation: true, Lat: 48.8566, Lon: 2.3522, Region: "eu"}
	tokyo     = Origin{HasLocation: true, Lat: 35.6762, Lon: 139.6503, Region: "ap"}
)

func ids(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestDistanceKm(t *testing.T) {
	tests := []struct {
		name          string
		a, b          Origin
		wantKm, slack float64
	}{
		{"paris-frankfurt", paris, Origin{Lat: frankfurt.Lat, Lon: frankfurt.Lon}, 479, 5},
		{"paris-virginia", paris, Origin{Lat: virginia.Lat, Lon: virginia.Lon}, 6200, 60},
		{"tokyo-singapore", tokyo, Origin{Lat: singapore.Lat, Lon: singapore.Lon}, 5320, 60},
		{"same point", paris, paris, 0, 0.001},
		{"antipodes", Origin{Lat: 0, Lon: 0}, Origin{Lat: 0, Lon: 180}, math.Pi * earthRadiusKm, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DistanceKm(tt.a.Lat, tt.a.Lon, tt.b.Lat, tt.b.Lon)
			if math.Abs(got-tt.wantKm) > tt.slack {
				t.Fatalf("distance %.1f km, want %.0f±%.0f", got, tt.wantKm, tt.slack)
			}
		})
	}
}

func TestChordDistanceAgreesWithHaversine(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 1000 {
		o := Origin{HasLocation: true, Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180}
		c := Candidate{HasLocation: true, Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180}
		want := DistanceKm(o.Lat, o.Lon, c.Lat, c.Lon)
		o.XYZ, c.XYZ = UnitVector(o.Lat, o.Lon), UnitVector(c.Lat, c.Lon)
		if got := distance(&o, &c); math.Abs(got-want) > 1e-6*max(1, want) {
			t.Fatalf("chord %.9f km, haversine %.9f km", got, want)
		}
	}
}

func TestNearestCDN(t *testing.T) {
	tests := []struct {
		name   string
		cands  []Candidate
		origin Origin
		want   []string
	}{
		{"paris reaches frankfurt", []Candidate{virginia, singapore, frankfurt}, paris, []string{"edge-fra", "edge-iad", "edge-sin"}},
		{"frankfurt gone: virginia", []Candidate{singapore, virginia}, paris, []string{"edge-iad", "edge-sin"}},
		{"tokyo reaches singapore", []Candidate{frankfurt, virginia, singapore}, tokyo, []string{"edge-sin", "edge-fra", "edge-iad"}},
		{"no location ranks last", []Candidate{{ID: "a-nowhere", Region: "eu"}, virginia}, paris, []string{"edge-iad", "a-nowhere"}},
		{"sender without location: region first", []Candidate{virginia, {ID: "z-eu", Region: "eu"}}, Origin{Region: "eu"}, []string{"z-eu", "edge-iad"}},
		{"tie broken by load", []Candidate{
			{ID: "a", HasLocation: true, Lat: 50, Lon: 8, PendingBytes: 900},
			{ID: "b", HasLocation: true, Lat: 50, Lon: 8, PendingBytes: 10},
		}, paris, []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := append([]Candidate(nil), tt.cands...)
			Rank(cs, Decision{Policy: Nearest, Origin: tt.origin})
			if got := ids(cs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("ranked %v, want %v", got, tt.want)
			}
		})
	}
}

func fourCandidates() []Candidate {
	return []Candidate{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}
}

// TestBestAgreesWithRank checks the one-pass choice against the full order.
func TestBestAgreesWithRank(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 500 {
		cs := make([]Candidate, 1+r.IntN(12))
		for j := range cs {
			cs[j] = Candidate{ID: fmt.Sprint("e", j), Region: []string{"eu", "us", ""}[r.IntN(3)], PendingBytes: r.IntN(4), PendingMsgs: r.IntN(3)}
			if r.IntN(4) > 0 {
				cs[j].HasLocation, cs[j].Lat, cs[j].Lon = true, float64(r.IntN(5)*10), float64(r.IntN(5)*10)
			}
		}
		for _, p := range []Policy{RoundRobin, Nearest, LeastLoaded, Hash} {
			d := Decision{Policy: p, Origin: Origin{HasLocation: i%2 == 0, Lat: 10, Lon: 20, Region: "eu"}, Key: []byte(fmt.Sprint(i)), Turn: uint64(i)}
			want := append([]Candidate(nil), cs...)
			Rank(want, d)
			if got := cs[Best(cs, d)].ID; got != want[0].ID {
				t.Fatalf("case %d %v: Best chose %s, Rank %s", i, p, got, want[0].ID)
			}
		}
	}
	if Best(nil, Decision{}) != -1 {
		t.Fatal("Best of no candidates")
	}
}

func TestRoundRobinIsFair(t *testing.T) {
	counts := map[string]int{}
	for turn := range uint64(4000) {
		cs := fourCandidates()
		Rank(cs, Decision{Policy: RoundRobin, Turn: turn})
		counts[cs[0].ID]++
	}
	for id, n := range counts {
		if n != 1000 {
			t.Errorf("%s chosen %d times, want 1000", id, n)
		}
	}
}

func TestHashIsSticky(t *testing.T) {
	first := map[string]string{}
	for i := range 200 {
		key := []byte(fmt.Sprint("user-", i))
		cs := fourCandidates()
		Rank(cs, Decision{Policy: Hash, Key: key})
		first[string(key)] = cs[0].ID
		again := fourCandidates()
		Rank(again, Decision{Policy: Hash, Key: key, Turn: 99})
		if again[0].ID != cs[0].ID {
			t.Fatalf("key %s moved from %s to %s", key, cs[0].ID, again[0].ID)
		}
	}
	// Removing one receiver moves only the keys it held.
	moved := 0
	for key, was := range first {
		cs := []Candidate{{ID: "a"}, {ID: "b"}, {ID: "c"}}
		Rank(cs, Decision{Policy: Hash, Key: []byte(key)})
		if was != "d" && cs[0].ID != was {
			moved++
		}
	}
	if moved != 0 {
		t.Fatalf("%d keys moved off live receivers when another left", moved)
	}
}

func TestLeastLoaded(t *testing.T) {
	cs := []Candidate{{ID: "busy", PendingBytes: 1 << 20, PendingMsgs: 500}, {ID: "idle"}, {ID: "some", PendingBytes: 100, PendingMsgs: 1}}
	Rank(cs, Decision{Policy: LeastLoaded})
	if got := fmt.Sprint(ids(cs)); got != "[idle some busy]" {
		t.Fatalf("ranked %s", got)
	}
}

func TestRandomUsesSource(t *testing.T) {
	counts := map[string]int{}
	r := rand.New(rand.NewPCG(1, 2))
	for range 4000 {
		cs := fourCandidates()
		Rank(cs, Decision{Policy: Random, Rand: r})
		counts[cs[0].ID]++
	}
	for id, n := range counts {
		if n < 850 || n > 1150 {
			t.Errorf("%s chosen %d of 4000 times", id, n)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for i, name := range policyNames {
		p, err := ParsePolicy(name)
		if err != nil || p != Policy(i) || p.String() != name {
			t.Errorf("ParsePolicy(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := ParsePolicy("closest"); !errors.Is(err, ErrUnknownPolicy) {
		t.Errorf("unknown policy: %v", err)
	}
}

func BenchmarkBestNearest1000(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	cs := make([]Candidate, 1000)
	for i := range cs {
		lat, lon := r.Float64()*180-90, r.Float64()*360-180
		cs[i] = Candidate{ID: fmt.Sprint("e", i), HasLocation: true, Lat: lat, Lon: lon, XYZ: UnitVector(lat, lon)}
	}
	o := paris
	o.XYZ = UnitVector(o.Lat, o.Lon)
	b.ReportAllocs()
	for b.Loop() {
		Best(cs, Decision{Policy: Nearest, Origin: o})
	}
}

func BenchmarkRankNearest1000(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	base := make([]Candidate, 1000)
	for i := range base {
		base[i] = Candidate{ID: fmt.Sprint("e", i), HasLocation: true, Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180}
	}
	cs := make([]Candidate, len(base))
	b.ReportAllocs()
	for b.Loop() {
		copy(cs, base)
		Rank(cs, Decision{Policy: Nearest, Origin: paris})
	}
}
