package broker

import (
	"fmt"
	"math"

	"github.com/ferrymq/ferry/internal/route"
)

// Explain reports the candidates a send from sender to t on subj would
// consider, whether each matched, and which the policy picks, without
// sending anything. It covers the targeted modes (unicast, broadcast,
// multicast, anycast).
func (b *Broker) Explain(sender *Endpoint, subj []byte, t Target) (Explanation, error) {
	if err := b.cfg.Subjects.ValidatePublishBytes(subj); err != nil {
		return Explanation{}, fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	se, err := b.selector(t.Where)
	if err != nil {
		return Explanation{}, err
	}
	ex := Explanation{Mode: t.Mode.String(), Subject: string(subj), Where: string(t.Where), Candidates: []CandidateView{}, Chosen: []string{}}
	o := origin(sender, &t)
	if o.HasLocation {
		ex.Origin = &Point{o.Lat, o.Lon}
	}
	eps, scope := b.explainCandidates(t)
	var cands []route.Candidate
	var idx []int
	for _, ep := range eps {
		m := ep.meta.Load()
		cv := CandidateView{ID: ep.id, Region: m.Region, Matched: se.admits(ep)}
		if m.HasLocation {
			cv.Location = &Point{m.Lat, m.Lon}
			if o.HasLocation {
				d := route.DistanceKm(o.Lat, o.Lon, m.Lat, m.Lon)
				cv.DistanceKm = &d
			}
		}
		cv.RegionMatch = o.Region != "" && o.Region == m.Region
		cv.PendingMsgs, cv.PendingBytes = ep.sink.Pending()
		cv.Subscribed = scopedSub(ep, scope, subj) != nil
		if cv.Matched && cv.Subscribed {
			cands = append(cands, route.Candidate{ID: ep.id, Region: m.Region, HasLocation: m.HasLocation,
				Lat: m.Lat, Lon: m.Lon, PendingMsgs: cv.PendingMsgs, PendingBytes: cv.PendingBytes})
			idx = append(idx, len(ex.Candidates))
		}
		ex.Candidates = append(ex.Candidates, cv)
	}
	b.explainChoice(&ex, t, o, subj, cands, idx)
	return ex, nil
}

func (b *Broker) explainCandidates(t Target) ([]*Endpoint, Scope) {
	switch {
	case t.Mode == ModeUnicast:
		if ep, ok := b.Endpoint(string(t.To)); ok {
			return []*Endpoint{ep}, ScopeInbox
		}
		return nil, ScopeInbox
	case len(t.To) > 0 && (t.Mode == ModeMulticast || t.Mode == ModeAnycast):
		if g := b.group(t.To); g != nil {
			return g.memberList(), ScopeGroup
		}
		return nil, ScopeGroup
	}
	return b.allEndpoints(), ScopeInbox
}

func (b *Broker) explainChoice(ex *Explanation, t Target, o route.Origin, subj []byte, cands []route.Candidate, idx []int) {
	if len(cands) == 0 {
		ex.Reason = "no endpoint both matches the target and has a subscription of the right scope on the subject: a request would get no responders"
		return
	}
	if t.Mode != ModeAnycast {
		for _, c := range cands {
			ex.Chosen = append(ex.Chosen, c.ID)
		}
		ex.Reason = reachesAll(t.Mode, len(cands))
		return
	}
	ex.Policy = t.Policy.String()
	key := t.Key
	if len(key) == 0 {
		key = subj
	}
	pos := make(map[string]int, len(cands))
	for i, c := range cands {
		pos[c.ID] = idx[i]
	}
	route.Rank(cands, route.Decision{Policy: t.Policy, Origin: o, Key: key})
	for r, c := range cands {
		ex.Candidates[pos[c.ID]].Rank = r + 1
	}
	first := cands[0]
	ex.Chosen = []string{first.ID}
	ex.Reason = reason(t.Policy, first)
}

func reachesAll(m Mode, n int) string {
	return fmt.Sprintf("%s reaches every matching subscribed candidate: %d", m, n)
}

func reason(p route.Policy, c route.Candidate) string {
	switch p {
	case route.Nearest:
		if !math.IsNaN(c.DistanceKm) {
			return fmt.Sprintf("nearest: %s is %.0f km away, the closest candidate with a location", c.ID, c.DistanceKm)
		}
		return fmt.Sprintf("nearest: no distance known; %s wins on region, then load", c.ID)
	case route.LeastLoaded:
		return fmt.Sprintf("least-loaded: %s has the fewest pending bytes (%d)", c.ID, c.PendingBytes)
	case route.Hash:
		return fmt.Sprintf("hash: the key maps to %s while it is connected", c.ID)
	case route.Random:
		return fmt.Sprintf("random: %s drawn this time; each send draws again", c.ID)
	}
	return fmt.Sprintf("round-robin: %s is next in turn for this explanation; sends rotate", c.ID)
}
