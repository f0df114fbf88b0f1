package route

import (
	"cmp"
	"math"
)

// Best returns the index in cs of the receiver d's policy chooses, without
// ordering the rest: one pass, for the send path. Rank gives the full
// failover order. cs must be in a stable order between sends (the broker
// keeps candidates in ID order) for RoundRobin to rotate fairly. Best
// returns -1 for no candidates.
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

func fill(c *Candidate, d Decision) {
	c.RegionMatch = d.Origin.Region != "" && c.Region == d.Origin.Region
	c.DistanceKm = math.NaN()
	if d.Policy == Nearest && d.Origin.HasLocation && c.HasLocation {
		c.DistanceKm = distance(&d.Origin, c)
	}
}

func better(a, b *Candidate, d Decision) bool {
	switch d.Policy {
	case Nearest:
		return compareNearest(a, b) < 0
	case LeastLoaded:
		return cmp.Or(cmp.Compare(a.PendingBytes, b.PendingBytes), cmp.Compare(a.PendingMsgs, b.PendingMsgs), cmp.Compare(a.ID, b.ID)) < 0
	case Hash:
		sa, sb := score(d.Key, a.ID), score(d.Key, b.ID)
		return sa > sb || sa == sb && a.ID < b.ID
	}
	return false
}
