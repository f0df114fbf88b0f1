package route

import (
	"cmp"
	"fmt"
	"hash/maphash"
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

// The ref* functions below are a frozen copy of Best, Rank and the
// broker's failover order (scratch.ranked) as they were before 412d5f8
// (lazy loads, chord comparisons before distances, Order): every distance
// and load filled in first, candidates sorted by value, and the failover
// indexes found again through an ID→index map. They are self-contained on
// purpose, with their own haversine, chord distance, comparisons, shuffle
// and rotation, so that a regression in a helper the package shares
// (distance, compareNearest, fillAll, reorder, ...) cannot hide by being on
// both sides of a comparison. Do not rewrite them in terms of the package's
// helpers. The ID→index map needs unique IDs: callers give them unique IDs.

const refEarthRadiusKm = 6371.0088

func refHaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * refEarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// refChordKm is the great-circle distance for a chord on the unit sphere.
func refChordKm(chord float64) float64 {
	return 2 * refEarthRadiusKm * math.Asin(math.Min(1, chord/2))
}

func refDistance(o *Origin, c *Candidate) float64 {
	if o.XYZ == [3]float64{} || c.XYZ == [3]float64{} {
		return refHaversineKm(o.Lat, o.Lon, c.Lat, c.Lon)
	}
	dx, dy, dz := o.XYZ[0]-c.XYZ[0], o.XYZ[1]-c.XYZ[1], o.XYZ[2]-c.XYZ[2]
	return refChordKm(math.Sqrt(dx*dx + dy*dy + dz*dz))
}

func refCompareLoad(a, b *Candidate) int {
	return cmp.Or(cmp.Compare(a.PendingBytes, b.PendingBytes), cmp.Compare(a.PendingMsgs, b.PendingMsgs), cmp.Compare(a.ID, b.ID))
}

func refCompareNearest(a, b *Candidate) int {
	aKnown, bKnown := !math.IsNaN(a.DistanceKm), !math.IsNaN(b.DistanceKm)
	if aKnown != bKnown {
		if aKnown {
			return -1
		}
		return 1
	}
	if aKnown {
		if d := a.DistanceKm - b.DistanceKm; math.Abs(d) >= 1 {
			return cmp.Compare(a.DistanceKm, b.DistanceKm)
		}
	}
	if a.RegionMatch != b.RegionMatch {
		if a.RegionMatch {
			return -1
		}
		return 1
	}
	return refCompareLoad(a, b)
}

func refScore(key []byte, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.Write(key)
	h.WriteByte(0)
	h.WriteString(id)
	return h.Sum64()
}

func refCompareHash(key []byte, a, b *Candidate) int {
	return cmp.Or(cmp.Compare(refScore(key, b.ID), refScore(key, a.ID)), cmp.Compare(a.ID, b.ID))
}

// refBest is the old Best; the candidates carry their loads.
func refBest(cs []Candidate, d Decision) int {
	n := len(cs)
	switch {
	case n == 0:
		return -1
	case n == 1:
		return 0
	}
	switch d.Policy {
	case RoundRobin:
		return int(d.Turn % uint64(n))
	case Random:
		return d.Rand.IntN(n)
	}
	fill := func(c *Candidate) {
		c.RegionMatch = d.Origin.Region != "" && c.Region == d.Origin.Region
		c.DistanceKm = math.NaN()
		if d.Policy == Nearest && d.Origin.HasLocation && c.HasLocation {
			c.DistanceKm = refDistance(&d.Origin, c)
		}
	}
	better := func(a, b *Candidate) bool {
		switch d.Policy {
		case Nearest:
			return refCompareNearest(a, b) < 0
		case LeastLoaded:
			return refCompareLoad(a, b) < 0
		case Hash:
			sa, sb := refScore(d.Key, a.ID), refScore(d.Key, b.ID)
			return sa > sb || sa == sb && a.ID < b.ID
		}
		return false
	}
	best := 0
	fill(&cs[0])
	for i := 1; i < n; i++ {
		fill(&cs[i])
		if better(&cs[i], &cs[best]) {
			best = i
		}
	}
	return best
}

// refRank is the old Rank: the candidates themselves sorted, shuffled or
// rotated; they carry their loads.
func refRank(cs []Candidate, d Decision) {
	for i := range cs {
		c := &cs[i]
		c.RegionMatch = d.Origin.Region != "" && c.Region == d.Origin.Region
		c.DistanceKm = math.NaN()
		if d.Origin.HasLocation && c.HasLocation {
			c.DistanceKm = refDistance(&d.Origin, c)
		}
	}
	switch d.Policy {
	case Nearest:
		slices.SortStableFunc(cs, func(a, b Candidate) int { return refCompareNearest(&a, &b) })
	case LeastLoaded:
		slices.SortStableFunc(cs, func(a, b Candidate) int { return refCompareLoad(&a, &b) })
	case Random:
		d.Rand.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	case Hash:
		slices.SortStableFunc(cs, func(a, b Candidate) int { return refCompareHash(d.Key, &a, &b) })
	default:
		if n := uint64(len(cs)); n > 1 {
			k := int(d.Turn % n)
			slices.Reverse(cs[:k])
			slices.Reverse(cs[k:])
			slices.Reverse(cs)
		}
	}
}

// refRanked is the broker's old failover order: a copy of the candidates
// ranked, mapped back to indexes through their IDs.
func refRanked(cands []Candidate, d Decision) []int {
	cs := make([]Candidate, len(cands))
	copy(cs, cands)
	idx := make(map[string]int, len(cs))
	for i, c := range cs {
		idx[c.ID] = i
	}
	refRank(cs, d)
	order := make([]int, 0, len(cs))
	for _, c := range cs {
		order = append(order, idx[c.ID])
	}
	return order
}

// kmLat is a kilometre along a meridian, in degrees of latitude.
const kmLat = 180 / math.Pi / refEarthRadiusKm

var regions = []string{"", "eu", "us", "ap"}

// randomOrigin draws a sender: none, at a pole, with a NaN latitude, at
// Paris or anywhere, with any region, with or without a unit vector.
func randomOrigin(r *rand.Rand) Origin {
	var o Origin
	switch r.IntN(10) {
	case 0: // no location (region only, or nothing)
	case 1:
		o = Origin{HasLocation: true, Lat: 90, Lon: r.Float64()*360 - 180}
	case 2:
		o = Origin{HasLocation: true, Lat: -90, Lon: r.Float64()*360 - 180}
	case 3:
		o = Origin{HasLocation: true, Lat: math.NaN(), Lon: r.Float64()*360 - 180}
	case 4, 5, 6:
		o = Origin{HasLocation: true, Lat: paris.Lat, Lon: paris.Lon}
	default:
		o = Origin{HasLocation: true, Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180}
	}
	o.Region = regions[r.IntN(len(regions))]
	if o.HasLocation && r.IntN(3) > 0 {
		o.XYZ = UnitVector(o.Lat, o.Lon)
	}
	return o
}

// randomCandidates draws n candidates with unique IDs around o: at o's
// spot, near its antipode, at the poles, at whole kilometres ± 1e-6 km
// along its meridian, clustered so that distances tie within a kilometre
// or fall near that threshold, anywhere, with a NaN latitude or without a
// location. The loads go in the table, not the candidates.
func randomCandidates(r *rand.Rand, n int, o Origin) ([]Candidate, *loadTable) {
	lat0, lon0 := o.Lat, o.Lon
	if !o.HasLocation || math.IsNaN(lat0) {
		lat0, lon0 = paris.Lat, paris.Lon
	}
	south := 1.0 // whole kilometres go towards the equator
	if lat0 > 0 {
		south = -1
	}
	cs := make([]Candidate, n)
	l := &loadTable{msgs: make([]int, n), bytes: make([]int, n), reads: make([]int, n)}
	ids := r.Perm(2 * n)
	for i := range cs {
		c := Candidate{ID: fmt.Sprint("e", ids[i]), Region: regions[r.IntN(len(regions))], HasLocation: true}
		switch r.IntN(10) {
		case 0:
			c.HasLocation = false
		case 1:
			c.Lat, c.Lon = lat0, lon0
		case 2: // the antipode, exactly (rounding may take the chord past 2) or nearly
			dLat, dLon := (r.Float64()-0.5)*0.03, (r.Float64()-0.5)*0.03
			switch r.IntN(3) {
			case 0:
				dLat, dLon = 0, 0
			case 1:
				dLat, dLon = dLat*1e-6, dLon*1e-6
			}
			c.Lat, c.Lon = -lat0+dLat, lon0+180+dLon
		case 3:
			c.Lat, c.Lon = []float64{90, -90}[r.IntN(2)], r.Float64()*360-180
		case 4:
			c.Lat, c.Lon = math.NaN(), r.Float64()*360-180
		case 5, 6:
			km := float64(r.IntN(4)) + []float64{0, 1e-6, -1e-6}[r.IntN(3)]
			c.Lat, c.Lon = lat0+south*km*kmLat, lon0
		case 7:
			c.Lat, c.Lon = r.Float64()*180-90, r.Float64()*360-180
		default:
			c.Lat, c.Lon = lat0+south*(float64(r.IntN(3))*0.009+r.Float64()*0.004), lon0+float64(r.IntN(2))*30
		}
		if c.HasLocation && r.IntN(4) > 0 {
			c.XYZ = UnitVector(c.Lat, c.Lon)
		}
		cs[i] = c
		l.msgs[i], l.bytes[i] = r.IntN(3), r.IntN(3)*100
	}
	return cs, l
}

// withLoads is cs with the table's loads filled in, for the reference.
func withLoads(cs []Candidate, l *loadTable) []Candidate {
	out := slices.Clone(cs)
	for i := range out {
		out[i].PendingMsgs, out[i].PendingBytes = l.msgs[i], l.bytes[i]
	}
	return out
}

func freshReads(l *loadTable) *loadTable {
	return &loadTable{msgs: l.msgs, bytes: l.bytes, reads: make([]int, len(l.msgs))}
}

func TestBestMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for range 3000 {
		n := 1 + r.IntN(9)
		o := randomOrigin(r)
		cs, l := randomCandidates(r, n, o)
		for p := range maxPolicy + 1 {
			seed, turn := r.Uint64(), r.Uint64()
			d := Decision{Policy: p, Origin: o, Key: []byte("k"), Turn: turn}
			d.Rand = rand.New(rand.NewPCG(seed, 1))
			want := refBest(withLoads(cs, l), d)
			lazy, ll := slices.Clone(cs), freshReads(l)
			d.Rand, d.Loads = rand.New(rand.NewPCG(seed, 1)), ll
			if got := Best(lazy, d); got != want {
				t.Fatalf("%v from %+v: lazy Best chose %d, reference %d among %+v", p, o, got, want, withLoads(cs, l))
			}
			for i, k := range ll.reads {
				if k > 1 {
					t.Fatalf("%v: load %d read %d times", p, i, k)
				}
			}
			d.Rand, d.Loads = rand.New(rand.NewPCG(seed, 1)), nil
			if got := Best(withLoads(cs, l), d); got != want {
				t.Fatalf("%v from %+v: Best with loads chose %d, reference %d among %+v", p, o, got, want, withLoads(cs, l))
			}
		}
	}
}

func sameCandidate(a, b Candidate) bool {
	return a.ID == b.ID && a.PendingBytes == b.PendingBytes && a.PendingMsgs == b.PendingMsgs &&
		a.RegionMatch == b.RegionMatch && (a.DistanceKm == b.DistanceKm || math.IsNaN(a.DistanceKm) && math.IsNaN(b.DistanceKm)) &&
		(a.Lat == b.Lat || math.IsNaN(a.Lat) && math.IsNaN(b.Lat)) && a.Lon == b.Lon && a.HasLocation == b.HasLocation
}

func TestRankAndOrderMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	var order []int
	for range 1500 {
		n := 1 + r.IntN(9)
		o := randomOrigin(r)
		cs, l := randomCandidates(r, n, o)
		for p := range maxPolicy + 1 {
			seed, turn := r.Uint64(), r.Uint64()
			decision := func(l Loads) Decision {
				return Decision{Policy: p, Origin: o, Key: []byte("k"), Turn: turn, Loads: l, Rand: rand.New(rand.NewPCG(seed, 1))}
			}
			wantOrder := refRanked(withLoads(cs, l), decision(nil))
			want := withLoads(cs, l)
			refRank(want, decision(nil))

			ordered, ol := slices.Clone(cs), freshReads(l)
			order = Order(ordered, decision(ol), order)
			if !slices.Equal(order, wantOrder) {
				t.Fatalf("%v from %+v: Order %v, reference %v among %+v", p, o, order, wantOrder, withLoads(cs, l))
			}
			ranked, rl := slices.Clone(cs), freshReads(l)
			Rank(ranked, decision(rl))
			for k, i := range order {
				if !sameCandidate(ranked[k], want[k]) || !sameCandidate(ordered[i], want[k]) {
					t.Fatalf("%v: position %d: Rank %+v, Order %+v, reference %+v", p, k, ranked[k], ordered[i], want[k])
				}
			}
			// Rank and Order read every load, once, before ordering.
			for i := range cs {
				if ol.reads[i] != 1 || rl.reads[i] != 1 {
					t.Fatalf("%v: load %d read %d times by Order, %d by Rank, want once", p, i, ol.reads[i], rl.reads[i])
				}
			}
			// Without Loads, the candidates' own loads give the same order.
			if got := Order(withLoads(cs, l), decision(nil), nil); !slices.Equal(got, wantOrder) {
				t.Fatalf("%v: Order with loads %v, reference %v", p, got, wantOrder)
			}
		}
	}
}

// TestOrderDuplicateIDs: the old ID→index map sent every candidate sharing
// an ID to the last one's index; Order works on indexes and returns each
// exactly once.
func TestOrderDuplicateIDs(t *testing.T) {
	at := func(id string, lat float64) Candidate {
		return Candidate{ID: id, Region: "eu", HasLocation: true, Lat: lat, Lon: paris.Lon, XYZ: UnitVector(lat, paris.Lon)}
	}
	cs := []Candidate{at("a", 50), at("b", 48.9), at("a", 48.86), {ID: "b"}, at("a", 10), at("c", 48.8566)}
	o := paris
	o.XYZ = UnitVector(o.Lat, o.Lon)
	l := &loadTable{msgs: make([]int, len(cs)), bytes: []int{0, 100, 0, 0, 200, 0}, reads: make([]int, len(cs))}
	for p := range maxPolicy + 1 {
		for _, loads := range []Loads{nil, freshReads(l)} {
			d := Decision{Policy: p, Origin: o, Key: []byte("k"), Turn: 3, Loads: loads, Rand: rand.New(rand.NewPCG(1, 2))}
			order := Order(slices.Clone(cs), d, nil)
			seen := make([]int, len(cs))
			for _, i := range order {
				if i < 0 || i >= len(cs) {
					t.Fatalf("%v: index %d out of range in %v", p, i, order)
				}
				seen[i]++
			}
			for i, k := range seen {
				if k != 1 {
					t.Fatalf("%v: index %d appears %d times in %v", p, i, k, order)
				}
			}
		}
	}
}

// TestChordSlack pins the chord margin of Best's Nearest scan: chords at
// most chordSlack apart go to the full distance comparison, and the chord
// comparison (for gaps of chordSlack and more) agrees with it, at the
// margin ± 1 ulp, with chords near 0 (where a distance grows about
// earthRadiusKm times as fast as the chord, so the margin is tight) and
// near 2 (antipodes, where it grows much faster).
func TestChordSlack(t *testing.T) {
	// A kilometre and 1e-6 km of rounding margin, over the Earth's radius.
	const slack = (1 + 1e-6) / refEarthRadiusKm
	if chordSlack != slack {
		t.Fatalf("chordSlack %g, want %g", chordSlack, slack)
	}
	up := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	down := func(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }
	km := 1 / refEarthRadiusKm
	tests := []struct {
		name string
		a, b float64 // chord lengths; a is the nearer
	}{
		{"0: slack", 0, slack},
		{"0: slack - 1 ulp", 0, down(slack)},
		{"0: slack + 1 ulp", 0, up(slack)},
		{"0: a kilometre", 0, km},
		{"0: a kilometre + 1 ulp", 0, up(km)},
		{"0: just under a kilometre", 0, (1 - 1e-9) * km},
		{"0: half the slack", 0, slack / 2},
		{"1e-9: slack", 1e-9, 1e-9 + slack},
		{"1e-9: slack - 1 ulp", 1e-9, down(1e-9 + slack)},
		{"1e-9: slack + 1 ulp", 1e-9, up(1e-9 + slack)},
		{"1e-9: just under a kilometre", 1e-9, 1e-9 + (1-1e-7)*km},
		{"1e-3: slack", 1e-3, 1e-3 + slack},
		{"1e-3: a kilometre", 1e-3, 1e-3 + km},
		{"1: slack - 1 ulp", 1, down(1 + slack)},
		{"1: slack + 1 ulp", 1, up(1 + slack)},
		{"1: just under a kilometre", 1, 1 + (1-1e-6)*km*math.Sqrt(0.75)},
		{"2: slack", 2 - slack, 2},
		{"2: slack - 1 ulp", up(2 - slack), 2},
		{"2: slack + 1 ulp", down(2 - slack), 2},
		{"2: 1 ulp apart", down(2), 2},
		{"2: 1e-12 apart", 2 - 1e-12, 2},
		{"equal", 0.5, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The farther one matches the region, so a tie (distances
			// within a kilometre) puts it first.
			for _, swap := range []bool{false, true} {
				a := Candidate{ID: "a", chord: tt.a, DistanceKm: math.NaN()}
				b := Candidate{ID: "b", chord: tt.b, DistanceKm: math.NaN(), RegionMatch: true}
				x, y := &a, &b
				if swap {
					x, y = y, x
				}
				// The full comparison: distances from the chords, a tie
				// within a kilometre, then the region.
				dx, dy := refChordKm(x.chord), refChordKm(y.chord)
				want := 0
				switch {
				case math.Abs(dx-dy) >= 1:
					want = cmp.Compare(dx, dy)
				case x.RegionMatch != y.RegionMatch:
					want = 1
					if x.RegionMatch {
						want = -1
					}
				}
				got := siteNearest(x, y)
				if got != want {
					t.Fatalf("siteNearest(%v, %v) = %d, distances %.9f and %.9f km give %d", x.chord, y.chord, got, dx, dy, want)
				}
				byChord := math.Abs(x.chord-y.chord) >= slack
				if computed := !math.IsNaN(x.DistanceKm); computed == byChord {
					t.Fatalf("chords %v and %v, %g apart (slack %g): distances computed %v, want %v", x.chord, y.chord, math.Abs(x.chord-y.chord), slack, computed, !byChord)
				}
			}
		})
	}
}

// TestCompareSiteKilometre pins the distance tie of compareNearest:
// distances less than a kilometre apart tie (region, then load decide),
// a kilometre or more apart do not; an unknown distance ranks last.
func TestCompareSiteKilometre(t *testing.T) {
	nan := math.NaN()
	up := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	down := func(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }
	tests := []struct {
		name   string
		da, db float64 // a is the nearer, b matches the region
		want   int
	}{
		{"exactly a kilometre", 0, 1, -1},
		{"exactly a kilometre, far", 10, 11, -1},
		{"a kilometre - 1 ulp", 0, down(1), 1},
		{"a kilometre + 1 ulp", 0, up(1), -1},
		{"far, just under a kilometre", 1000, down(1001), 1},
		{"same distance", 5, 5, 1},
		{"b unknown", 5, nan, -1},
		{"a unknown", nan, 5, 1},
		{"both unknown", nan, nan, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Candidate{ID: "a", DistanceKm: tt.da, PendingBytes: 0}
			b := Candidate{ID: "b", DistanceKm: tt.db, RegionMatch: true, PendingBytes: 100}
			if got, ref := compareNearest(&a, &b), refCompareNearest(&a, &b); got != tt.want || ref != tt.want {
				t.Fatalf("compareNearest %d, reference %d, want %d", got, ref, tt.want)
			}
			if got := compareNearest(&b, &a); got != -tt.want {
				t.Fatalf("swapped: compareNearest %d, want %d", got, -tt.want)
			}
		})
	}
}

// TestAntipodeDistance: at exact antipodes rounding can take the haversine
// term or the chord past its bound (the first point here does it for the
// haversine); distances stay finite, half the circumference.
func TestAntipodeDistance(t *testing.T) {
	for _, p := range [][2]float64{{32.72002797365174, -27.74599970796072}, {paris.Lat, paris.Lon}, {0, 0}, {90, 0}, {-45, 135}} {
		o := Origin{HasLocation: true, Lat: p[0], Lon: p[1]}
		c := Candidate{HasLocation: true, Lat: -p[0], Lon: p[1] + 180}
		want := math.Pi * refEarthRadiusKm
		if got := distance(&o, &c); !(math.Abs(got-want) < 1e-6) {
			t.Errorf("%v: haversine %v km, want %v", p, got, want)
		}
		o.XYZ, c.XYZ = UnitVector(o.Lat, o.Lon), UnitVector(c.Lat, c.Lon)
		if got := distance(&o, &c); !(math.Abs(got-want) < 1e-3) {
			t.Errorf("%v: from the chord %v km, want %v", p, got, want)
		}
	}
}

// TestLoadsSharedByBestAndOrder: the Order that follows a Best on the same
// candidates (the broker's failover) reuses the loads Best read, so each
// load is read once per send; a fresh set of candidates reads them again.
func TestLoadsSharedByBestAndOrder(t *testing.T) {
	o := paris
	o.XYZ = UnitVector(o.Lat, o.Lon)
	at := func(id string, lat float64) Candidate {
		return Candidate{ID: id, HasLocation: true, Lat: lat, Lon: paris.Lon, XYZ: UnitVector(lat, paris.Lon)}
	}
	base := []Candidate{at("a", paris.Lat), at("b", paris.Lat+0.001), at("c", 10)}
	l := &loadTable{msgs: make([]int, 3), bytes: []int{500, 100, 0}, reads: make([]int, 3)}
	d := Decision{Policy: Nearest, Origin: o, Loads: l}
	for send := 1; send <= 2; send++ {
		cs := slices.Clone(base) // built afresh for each send
		if i := Best(cs, d); cs[i].ID != "b" {
			t.Fatalf("send %d: Best chose %s, want b", send, cs[i].ID)
		}
		if got := Order(cs, d, nil); !slices.Equal(got, []int{1, 0, 2}) {
			t.Fatalf("send %d: Order %v, want [1 0 2]", send, got)
		}
		if want := []int{send, send, send}; !slices.Equal(l.reads, want) {
			t.Fatalf("send %d: loads read %v, want %v", send, l.reads, want)
		}
	}
}
