package route

import (
	"cmp"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
)

// Candidate is one endpoint that may receive an anycast send.
type Candidate struct {
	ID           string
	Region       string
	HasLocation  bool
	Lat, Lon     float64
	PendingMsgs  int // messages queued for the endpoint and not yet written
	PendingBytes int
	// XYZ is the location as a unit vector (UnitVector); when both it and
	// the origin's are set, distances come from the chord, several times
	// cheaper than the haversine formula.
	XYZ [3]float64

	// Set by Rank for explanations.
	DistanceKm  float64 // great-circle distance from the origin; NaN when unknown
	RegionMatch bool    // same region as the sender

	// loaded: PendingMsgs and PendingBytes came from Decision.Loads; never
	// cleared, so a candidate serves one send only (see Loads).
	loaded bool
	chord  float64 // Best: chord length from the origin (unit sphere), -1 when unset
}

// Origin is where a send comes from, for Nearest.
type Origin struct {
	HasLocation bool
	Lat, Lon    float64
	XYZ         [3]float64 // optional, see Candidate.XYZ
	Region      string
}

// Decision carries the per-send inputs of a policy.
type Decision struct {
	Policy Policy
	Origin Origin
	Key    []byte     // Hash key
	Turn   uint64     // RoundRobin position: the caller's counter, advanced per send
	Rand   *rand.Rand // Random source; nil uses the global source
	Loads  Loads      // reads loads on demand; nil: the candidates carry them
}

// hashSeed is fixed so Hash is stable across the life of the process
// (stickiness needs only that).
var hashSeed = maphash.MakeSeed()

// Rank orders cs in place by d's policy: cs[0] is the chosen receiver (the
// one Best picks, except for Random) and the rest are the failover order.
// It fills DistanceKm and RegionMatch. As for Best, cs must be in a stable
// order between sends for RoundRobin. With d.Loads set, every load is read
// first, and Load's index is the position in cs before sorting.
func Rank(cs []Candidate, d Decision) {
	order := Order(cs, d, make([]int, 0, len(cs)))
	// Permute in place, cycle by cycle: cs[k] takes the candidate at
	// order[k]; a visited position's order entry becomes -1.
	for k := range order {
		if order[k] < 0 {
			continue
		}
		first, j := cs[k], k
		for {
			src := order[j]
			order[j] = -1
			if src == k {
				cs[j] = first
				break
			}
			cs[j] = cs[src]
			j = src
		}
	}
}

// Order is Rank without moving the candidates: it fills cs's DistanceKm,
// RegionMatch and loads and returns, appended to order[:0], the indexes of
// cs in the order Rank would put them.
func Order(cs []Candidate, d Decision, order []int) []int {
	fillAll(cs, d)
	order = order[:0]
	for i := range cs {
		order = append(order, i)
	}
	if f := compareFunc(d); f != nil {
		slices.SortStableFunc(order, func(i, j int) int { return f(&cs[i], &cs[j]) })
		return order
	}
	reorder(order, d)
	return order
}

func fillAll(cs []Candidate, d Decision) {
	for i := range cs {
		c := &cs[i]
		c.RegionMatch = d.Origin.Region != "" && c.Region == d.Origin.Region
		c.DistanceKm = math.NaN()
		if d.Origin.HasLocation && c.HasLocation {
			c.DistanceKm = distance(&d.Origin, c)
		}
		load(cs, i, d.Loads)
	}
}

// compareFunc is the rank order of the sorting policies, nil for the
// others (RoundRobin, Random).
func compareFunc(d Decision) func(a, b *Candidate) int {
	switch d.Policy {
	case Nearest:
		return compareNearest
	case LeastLoaded:
		return compareLoad
	case Hash:
		return func(a, b *Candidate) int { return compareHash(d.Key, a, b) }
	}
	return nil
}

// compareHash puts the higher rendezvous score for key first.
func compareHash(key []byte, a, b *Candidate) int {
	return cmp.Or(cmp.Compare(score(key, b.ID), score(key, a.ID)), cmp.Compare(a.ID, b.ID))
}

// reorder shuffles s for Random and otherwise (RoundRobin) rotates it by
// the turn.
func reorder[T any](s []T, d Decision) {
	if d.Policy == Random {
		shuffle(s, d.Rand)
		return
	}
	if n := uint64(len(s)); n > 1 {
		rotate(s, int(d.Turn%n))
	}
}

// compareNearest puts candidates with a known distance first, nearest
// first; then same-region candidates; then the less loaded; then by ID.
func compareNearest(a, b *Candidate) int {
	if c := compareSite(a, b); c != 0 {
		return c
	}
	return compareLoad(a, b)
}

// compareSite is compareNearest's distance and region part.
func compareSite(a, b *Candidate) int {
	aKnown, bKnown := !math.IsNaN(a.DistanceKm), !math.IsNaN(b.DistanceKm)
	if aKnown != bKnown {
		if aKnown {
			return -1
		}
		return 1
	}
	if aKnown {
		// Distances within a kilometre are a tie, so region and load decide.
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
	return 0
}

// compareLoad puts the less loaded first: fewer pending bytes, then fewer
// pending messages, then by ID.
func compareLoad(a, b *Candidate) int {
	return cmp.Or(cmp.Compare(a.PendingBytes, b.PendingBytes), cmp.Compare(a.PendingMsgs, b.PendingMsgs), cmp.Compare(a.ID, b.ID))
}

// score is the rendezvous-hash weight of key for endpoint id.
func score(key []byte, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.Write(key)
	h.WriteByte(0)
	h.WriteString(id)
	return h.Sum64()
}

func randIntN(n int) int { return rand.IntN(n) }

func shuffle[T any](s []T, r *rand.Rand) {
	swap := func(i, j int) { s[i], s[j] = s[j], s[i] }
	if r == nil {
		rand.Shuffle(len(s), swap)
		return
	}
	r.Shuffle(len(s), swap)
}

func rotate[T any](s []T, k int) {
	slices.Reverse(s[:k])
	slices.Reverse(s[k:])
	slices.Reverse(s)
}

// UnitVector returns the point at lat, lon (degrees) as a unit vector from
// the Earth's centre.
func UnitVector(lat, lon float64) [3]float64 {
	la, lo := lat*math.Pi/180, lon*math.Pi/180
	return [3]float64{math.Cos(la) * math.Cos(lo), math.Cos(la) * math.Sin(lo), math.Sin(la)}
}

// distance is the great-circle distance from o to c, from unit vectors when
// both have them.
func distance(o *Origin, c *Candidate) float64 {
	if !hasXYZ(o, c) {
		return DistanceKm(o.Lat, o.Lon, c.Lat, c.Lon)
	}
	return chordKm(chord(o, c))
}

func hasXYZ(o *Origin, c *Candidate) bool {
	return o.XYZ != [3]float64{} && c.XYZ != [3]float64{}
}

// chord is the straight-line distance from o to c on the unit sphere.
func chord(o *Origin, c *Candidate) float64 {
	dx, dy, dz := o.XYZ[0]-c.XYZ[0], o.XYZ[1]-c.XYZ[1], o.XYZ[2]-c.XYZ[2]
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// chordKm is the great-circle distance for a chord length.
func chordKm(chord float64) float64 {
	return 2 * earthRadiusKm * math.Asin(math.Min(1, chord/2))
}

// earthRadiusKm is the mean Earth radius.
const earthRadiusKm = 6371.0088

// DistanceKm is the great-circle (haversine) distance between two points
// given in degrees.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}
