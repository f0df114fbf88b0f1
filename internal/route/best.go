package route

import (
	"math"
)

// Best returns the index in cs of the receiver d's policy chooses, without
// ordering the rest: one pass, for the send path. Rank gives the full
// failover order. cs must be in a stable order between sends (the broker
// keeps candidates in ID order) for RoundRobin to rotate fairly. Best
// returns -1 for no candidates.
//
// Nearest compares chord lengths where they settle the order (distances
// more than a kilometre apart) and computes a distance only where they do
// not, so DistanceKm may be left NaN. With d.Loads set, it reads a
// candidate's load only when a comparison gets that far (distance and
// region tie with the best so far). The choice is the one Best makes with
// every distance and load filled in beforehand.
func Best(cs []Candidate, d Decision) int {
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
		if d.Rand != nil {
			return d.Rand.IntN(n)
		}
		return randIntN(n)
	}
	if d.Policy == Nearest {
		return bestNearest(cs, d)
	}
	if d.Loads != nil && d.Policy == LeastLoaded {
		for i := range cs {
			load(cs, i, d.Loads)
		}
	}
	best := 0
	fill(&cs[0], d)
	for i := 1; i < n; i++ {
		fill(&cs[i], d)
		if better(&cs[i], &cs[best], d) {
			best = i
		}
	}
	return best
}

func better(a, b *Candidate, d Decision) bool {
	switch d.Policy {
	case LeastLoaded:
		return compareLoad(a, b) < 0
	case Hash:
		sa, sb := score(d.Key, a.ID), score(d.Key, b.ID)
		return sa > sb || sa == sb && a.ID < b.ID
	}
	return false
}

// bestNearest is Best for Nearest: the first of cs by compareNearest,
// scanning in order, with loads read only for ties on distance and region.
func bestNearest(cs []Candidate, d Decision) int {
	best := 0
	fill(&cs[0], d)
	for i := 1; i < len(cs); i++ {
		fill(&cs[i], d)
		a, b := &cs[i], &cs[best]
		c := siteNearest(a, b)
		if c == 0 {
			load(cs, i, d.Loads)
			load(cs, best, d.Loads)
			c = compareLoad(a, b)
		}
		if c < 0 {
			best = i
		}
	}
	return best
}

func fill(c *Candidate, d Decision) {
	c.RegionMatch = d.Origin.Region != "" && c.Region == d.Origin.Region
	c.DistanceKm = math.NaN()
	c.chord = -1
	if d.Policy == Nearest && d.Origin.HasLocation && c.HasLocation {
		if hasXYZ(&d.Origin, c) {
			c.chord = chord(&d.Origin, c)
		} else {
			c.DistanceKm = distance(&d.Origin, c)
		}
	}
}

// chordSlack is the chord-length difference beyond which two distances
// differ by more than a kilometre (a distance grows at least earthRadiusKm
// times as fast as the chord), with a margin for rounding.
const chordSlack = (1 + 1e-6) / earthRadiusKm

// siteNearest is compareSite for Best: chord lengths decide when they are
// far enough apart, else the distances, computed from them once.
func siteNearest(a, b *Candidate) int {
	if a.chord >= 0 && b.chord >= 0 && math.Abs(a.chord-b.chord) >= chordSlack {
		if a.chord < b.chord {
			return -1
		}
		return 1
	}
	for _, c := range [2]*Candidate{a, b} {
		if c.chord >= 0 && math.IsNaN(c.DistanceKm) {
			c.DistanceKm = chordKm(c.chord)
		}
	}
	return compareSite(a, b)
}

// Loads reads candidates' loads on demand. With Decision.Loads set, the
// caller leaves PendingMsgs and PendingBytes unset and Best, Order and Rank
// fill cs[i]'s from Load(i), once per candidate, when they need them.
//
// A load, once read, is kept in the candidate and never read again by any
// later call on it: a Best and the Order or Rank that follows for the same
// send share the loads read (so the failover order ranks on the values Best
// saw, and reads each load at most once per send). Hence candidates passed
// with Decision.Loads must be built afresh for each send, as new Candidate
// values (the broker's scratch appends new ones); a candidate kept from an
// earlier send would bring that send's loads. (Resetting the flag in fill,
// the other way out, would make the Order after a Best read every load
// again, possibly getting values other than those Best chose on.)
type Loads interface {
	Load(i int) (msgs, bytes int)
}

// load fills cs[i]'s load from l, once; a nil l means loads are filled in.
func load(cs []Candidate, i int, l Loads) {
	if c := &cs[i]; l != nil && !c.loaded {
		c.PendingMsgs, c.PendingBytes = l.Load(i)
		c.loaded = true
	}
}
