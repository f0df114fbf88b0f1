package route

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// loadTable is a Loads over fixed loads that counts its reads.
type loadTable struct {
	msgs, bytes []int
	reads       []int
}

func (l *loadTable) Load(i int) (int, int) {
	l.reads[i]++
	return l.msgs[i], l.bytes[i]
}

// bestEager is Best for Nearest and LeastLoaded as it was before lazy loads
// and chord comparisons: every distance and load filled in, one scan.
func bestEager(cs []Candidate, d Decision) int {
	best := -1
	for i := range cs {
		c := &cs[i]
		c.RegionMatch = d.Origin.Region != "" && c.Region == d.Origin.Region
		c.DistanceKm = math.NaN()
		if d.Policy == Nearest && d.Origin.HasLocation && c.HasLocation {
			c.DistanceKm = distance(&d.Origin, c)
		}
		cmpf := compareLoad
		if d.Policy == Nearest {
			cmpf = compareNearest
		}
		if best < 0 || cmpf(c, &cs[best]) < 0 {
			best = i
		}
	}
	return best
}

func TestBestNearestTieBreaksByLoad(t *testing.T) {
	near := func(id string, dLat float64) Candidate {
		lat, lon := paris.Lat+dLat, paris.Lon
		return Candidate{ID: id, Region: "eu", HasLocation: true, Lat: lat, Lon: lon, XYZ: UnitVector(lat, lon)}
	}
	far := func(id string, lat, lon float64) Candidate {
		return Candidate{ID: id, Region: "us", HasLocation: true, Lat: lat, Lon: lon, XYZ: UnitVector(lat, lon)}
	}
	o := paris
	o.XYZ = UnitVector(o.Lat, o.Lon)
	tests := []struct {
		name      string
		cs        []Candidate
		bytes     []int
		want      string
		wantReads []int // loads read per candidate
	}{
		{"less loaded near wins", []Candidate{far("a-far", 40.7, -74), near("b-near", 0), far("c-far", 35.7, 139.7), near("d-near", 0.005)},
			[]int{0, 900, 0, 100}, "d-near", []int{0, 1, 0, 1}},
		{"equal loads: lower ID", []Candidate{near("b-near", 0.005), far("a-far", 40.7, -74), near("a-near", 0)},
			[]int{50, 0, 50}, "a-near", []int{1, 0, 1}},
		{"loaded near still beats idle far", []Candidate{far("a-far", 40.7, -74), near("b-near", 0)},
			[]int{0, 1 << 20}, "b-near", []int{0, 0}},
		{"just over a kilometre: nearer wins despite load", []Candidate{near("a", 0), near("b", 0.0095)},
			[]int{1000, 0}, "a", []int{0, 0}},
		{"just under a kilometre: load decides", []Candidate{near("a", 0), near("b", 0.0085)},
			[]int{1000, 0}, "b", []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loadTable{msgs: make([]int, len(tt.cs)), bytes: tt.bytes, reads: make([]int, len(tt.cs))}
			cs := slices.Clone(tt.cs)
			i := Best(cs, Decision{Policy: Nearest, Origin: o, Loads: l})
			if cs[i].ID != tt.want {
				t.Fatalf("Best chose %s, want %s", cs[i].ID, tt.want)
			}
			if !slices.Equal(l.reads, tt.wantReads) {
				t.Fatalf("loads read %v, want %v", l.reads, tt.wantReads)
			}
			// Rank with the same loads puts the same candidate first.
			rs := slices.Clone(tt.cs)
			Rank(rs, Decision{Policy: Nearest, Origin: o, Loads: &loadTable{msgs: l.msgs, bytes: tt.bytes, reads: make([]int, len(tt.cs))}})
			if rs[0].ID != tt.want {
				t.Fatalf("Rank put %s first, want %s", rs[0].ID, tt.want)
			}
		})
	}
}

// randomCandidates draws n candidates clustered around a few points, so
// that many distances tie within a kilometre or fall near that threshold.
func randomCandidates(r *rand.Rand, n int) ([]Candidate, *loadTable) {
	cs := make([]Candidate, n)
	l := &loadTable{msgs: make([]int, n), bytes: make([]int, n), reads: make([]int, n)}
	for i := range cs {
		c := Candidate{ID: fmt.Sprint("e", r.IntN(n*2)), Region: []string{"", "eu", "us"}[r.IntN(3)]}
		if r.IntN(8) > 0 {
			c.HasLocation = true
			c.Lat, c.Lon = paris.Lat+float64(r.IntN(3))*0.009+r.Float64()*0.004, paris.Lon+float64(r.IntN(2))*30
			if r.IntN(4) > 0 {
				c.XYZ = UnitVector(c.Lat, c.Lon)
			}
		}
		cs[i] = c
		l.msgs[i], l.bytes[i] = r.IntN(3), r.IntN(3)*100
	}
	return cs, l
}

func TestBestLazyMatchesEager(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for range 5000 {
		n := 1 + r.IntN(9)
		cs, l := randomCandidates(r, n)
		o := paris
		o.Region = []string{"", "eu"}[r.IntN(2)]
		if r.IntN(2) == 0 {
			o.XYZ = UnitVector(o.Lat, o.Lon)
		}
		for _, p := range []Policy{Nearest, LeastLoaded} {
			eager := slices.Clone(cs)
			for i := range eager {
				eager[i].PendingMsgs, eager[i].PendingBytes = l.msgs[i], l.bytes[i]
			}
			want := bestEager(eager, Decision{Policy: p, Origin: o})
			lazy := slices.Clone(cs)
			if got := Best(lazy, Decision{Policy: p, Origin: o, Loads: l}); n > 1 && got != want {
				t.Fatalf("%v: lazy Best chose %d (%s), eager %d (%s) among %+v", p, got, lazy[got].ID, want, eager[want].ID, eager)
			}
			if got := Best(eager, Decision{Policy: p, Origin: o}); n > 1 && got != want {
				t.Fatalf("%v: Best chose %d, eager %d", p, got, want)
			}
		}
	}
}

// rankEager is Rank as it was before Order: the candidates themselves
// sorted, shuffled or rotated.
func rankEager(cs []Candidate, d Decision) {
	fillAll(cs, d)
	switch d.Policy {
	case Nearest:
		slices.SortStableFunc(cs, func(a, b Candidate) int { return compareNearest(&a, &b) })
	case LeastLoaded:
		slices.SortStableFunc(cs, func(a, b Candidate) int { return compareLoad(&a, &b) })
	case Hash:
		slices.SortStableFunc(cs, func(a, b Candidate) int { return compareHash(d.Key, &a, &b) })
	default:
		reorder(cs, d)
	}
}

func sameCandidate(a, b Candidate) bool {
	return a.ID == b.ID && a.Lat == b.Lat && a.PendingBytes == b.PendingBytes && a.PendingMsgs == b.PendingMsgs &&
		a.RegionMatch == b.RegionMatch && (a.DistanceKm == b.DistanceKm || math.IsNaN(a.DistanceKm) && math.IsNaN(b.DistanceKm))
}

func TestRankAndOrderMatchEager(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	var order []int
	for range 2000 {
		n := 1 + r.IntN(9)
		cs, l := randomCandidates(r, n)
		for p := range maxPolicy + 1 {
			seed, turn := r.Uint64(), r.Uint64()
			decision := func() Decision {
				return Decision{Policy: p, Origin: paris, Key: []byte("k"), Turn: turn, Loads: l, Rand: rand.New(rand.NewPCG(seed, 1))}
			}
			want := slices.Clone(cs)
			rankEager(want, decision())
			ranked := slices.Clone(cs)
			Rank(ranked, decision())
			ordered := slices.Clone(cs)
			order = Order(ordered, decision(), order)
			for k, i := range order {
				if !sameCandidate(ranked[k], want[k]) || !sameCandidate(ordered[i], want[k]) {
					t.Fatalf("%v: position %d: Rank %+v, Order %+v, want %+v", p, k, ranked[k], ordered[i], want[k])
				}
			}
		}
	}
}
