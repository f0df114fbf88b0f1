package broker

import (
	"maps"
	"slices"
)

// EndpointView describes a connected endpoint for listings.
type EndpointView struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Region        string            `json:"region,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Location      *Point            `json:"location,omitempty"`
	Groups        []string          `json:"groups,omitempty"`
	Subscriptions int               `json:"subscriptions"`
	PendingMsgs   int               `json:"pending_msgs"`
	PendingBytes  int               `json:"pending_bytes"`
	PeakPending   int               `json:"peak_pending_bytes,omitempty"` // most bytes ever queued for it, where the transport tracks it
}

// Point is a location in degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Endpoints lists the connected endpoints whose labels match the selector
// text (empty: all), in ID order.
func (b *Broker) Endpoints(where []byte) ([]EndpointView, error) {
	se, err := b.selector(where)
	if err != nil {
		return nil, err
	}
	out := []EndpointView{}
	for _, ep := range b.allEndpoints() {
		if se.admits(ep) {
			out = append(out, b.view(ep))
		}
	}
	return out, nil
}

func (b *Broker) view(ep *Endpoint) EndpointView {
	m := ep.meta.Load()
	v := EndpointView{ID: ep.id, Name: m.Name, Region: m.Region, Labels: maps.Clone(m.Labels)}
	if m.HasLocation {
		v.Location = &Point{m.Lat, m.Lon}
	}
	v.PendingMsgs, v.PendingBytes = ep.sink.Pending()
	if p, ok := ep.sink.(interface{ PeakPending() int }); ok {
		v.PeakPending = p.PeakPending()
	}
	b.mu.RLock()
	v.Subscriptions = len(ep.subs)
	for name := range ep.joined {
		v.Groups = append(v.Groups, name)
	}
	b.mu.RUnlock()
	slices.Sort(v.Groups)
	return v
}

// Explanation says how a send would be routed, without sending it.
type Explanation struct {
	Mode       string          `json:"mode"`
	Subject    string          `json:"subject"`
	Policy     string          `json:"policy,omitempty"`
	Where      string          `json:"where,omitempty"`
	Origin     *Point          `json:"origin,omitempty"`
	Candidates []CandidateView `json:"candidates"`
	Chosen     []string        `json:"chosen"`
	Reason     string          `json:"reason"`
}

// CandidateView is one endpoint considered by a routing decision.
type CandidateView struct {
	ID           string   `json:"id"`
	Region       string   `json:"region,omitempty"`
	Location     *Point   `json:"location,omitempty"`
	Matched      bool     `json:"matched"`    // the selector admits it
	Subscribed   bool     `json:"subscribed"` // it has a matching subscription of the right scope
	DistanceKm   *float64 `json:"distance_km,omitempty"`
	RegionMatch  bool     `json:"region_match"`
	PendingMsgs  int      `json:"pending_msgs"`
	PendingBytes int      `json:"pending_bytes"`
	Rank         int      `json:"rank,omitempty"` // 1 is the choice, for anycast
}
