package ferry

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// Location is a point in degrees.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// EndpointInfo describes a connected endpoint, as the server sees it.
type EndpointInfo struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Region        string            `json:"region,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Location      *Location         `json:"location,omitempty"`
	Groups        []string          `json:"groups,omitempty"`   // multicast groups joined, by name
	Subscriptions int               `json:"subscriptions"`      // live subscriptions
	PendingMsgs   int               `json:"pending_msgs"`       // messages queued in the server for it
	PendingBytes  int               `json:"pending_bytes"`      // bytes queued in the server for it
	PeakPending   int               `json:"peak_pending_bytes"` // the most bytes ever queued in the server for it
}

// GroupInfo describes a multicast group.
type GroupInfo struct {
	Name    string   `json:"name"`
	Members []string `json:"members"` // endpoint IDs, in order
}

// Candidate is one endpoint a routing decision considered.
type Candidate struct {
	ID           string    `json:"id"`
	Region       string    `json:"region,omitempty"`
	Location     *Location `json:"location,omitempty"`
	Matched      bool      `json:"matched"`               // the selector admits it
	Subscribed   bool      `json:"subscribed"`            // it has a matching subscription of the right scope
	DistanceKm   *float64  `json:"distance_km,omitempty"` // from the origin, when both have a location
	RegionMatch  bool      `json:"region_match"`          // same region as the sender
	PendingMsgs  int       `json:"pending_msgs"`
	PendingBytes int       `json:"pending_bytes"`
	Rank         int       `json:"rank,omitempty"` // anycast: 1 is the choice; 0 for non-candidates
}

// Explanation says how the server would route a send, without sending it.
type Explanation struct {
	Mode       string      `json:"mode"`
	Subject    string      `json:"subject"`
	Policy     string      `json:"policy,omitempty"` // anycast only
	Where      string      `json:"where,omitempty"`
	Origin     *Location   `json:"origin,omitempty"` // where Nearest measures from
	Candidates []Candidate `json:"candidates"`       // every endpoint considered, matched or not
	Chosen     []string    `json:"chosen"`           // who would receive it
	Reason     string      `json:"reason"`           // a sentence for humans
}

// ServerInfo is the server's identity and counters, as QUERY server
// answers it (Conn.ServerInfo).
type ServerInfo struct {
	Server      string      `json:"server"` // name and version, like "ferry 0.1.0"
	Connections int         `json:"connections"`
	Stats       ServerStats `json:"stats"`
	Dropped     uint64      `json:"dropped"` // messages dropped by subscriptions' backpressure policies
	// TopSubjects are the busiest subjects, busiest first: at most 20 of
	// the subjects the server tracks (replies to request inboxes are not
	// tracked).
	TopSubjects []SubjectRate `json:"top_subjects"`
}

// SubjectRate is a subject's message count, as the server tracks it.
type SubjectRate struct {
	Subject string  `json:"subject"`
	Total   uint64  `json:"total"` // messages since the server began tracking the subject
	Rate    float64 `json:"rate"`  // messages per second over the server's last measuring window (about a second); 0 before it has one
}

// ServerStats are the broker's counters, cumulative since it started.
type ServerStats struct {
	Endpoints     int
	Subscriptions int64
	MsgsIn        uint64    // messages published
	BytesIn       uint64    // payload bytes published
	MsgsOut       uint64    // deliveries to subscriptions
	BytesOut      uint64    // payload bytes delivered
	NoReceivers   uint64    // publishes that reached nobody
	SlowConsumers uint64    // connections cut for falling behind
	Failovers     uint64    // anycast requests handed to the next candidate
	Streams       uint64    // streams and channels opened
	StreamMsgs    uint64    // stream messages relayed
	StreamStalls  uint64    // times a cut-slow stream was held back by one receiver
	MsgsInByMode  [5]uint64 // MsgsIn by mode: publish, unicast, broadcast, multicast, anycast
	Uptime        time.Duration
}

// ServerInfo asks the server for its identity and counters.
func (c *Conn) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	var out ServerInfo
	if err := c.query(ctx, &wire.Query{Kind: wire.QueryServer}, &out); err != nil {
		return nil, fmt.Errorf("ferry: server info: %w", err)
	}
	return &out, nil
}

// Endpoints lists the connected endpoints whose labels match the selector
// where (docs/selectors.md; empty lists all), in ID order.
func (c *Conn) Endpoints(ctx context.Context, where string) ([]EndpointInfo, error) {
	var out []EndpointInfo
	if err := c.query(ctx, &wire.Query{Kind: wire.QueryEndpoints, Where: []byte(where)}, &out); err != nil {
		return nil, fmt.Errorf("ferry: endpoints: %w", err)
	}
	return out, nil
}

// Groups lists the multicast groups and their members, by name.
func (c *Conn) Groups(ctx context.Context) ([]GroupInfo, error) {
	var out []GroupInfo
	if err := c.query(ctx, &wire.Query{Kind: wire.QueryGroups}, &out); err != nil {
		return nil, fmt.Errorf("ferry: groups: %w", err)
	}
	return out, nil
}

// Explain asks the server how a send from this endpoint on subject to t
// would be routed now: the candidates, whether each matched the selector
// and has a subscription of the right scope, their distance and load, and
// who would be chosen. Nothing is sent. t must be a targeted mode (unicast,
// broadcast, multicast or anycast); the plain publish is ErrInvalidTarget.
// A round-robin explanation shows the next turn without taking it.
func (c *Conn) Explain(ctx context.Context, subject string, t Target) (*Explanation, error) {
	if err := checkSubject(subject, false); err != nil {
		return nil, fmt.Errorf("ferry: explain: %w", err)
	}
	if t.mode == ModePublish {
		return nil, fmt.Errorf("ferry: explain: %w: explain covers targeted sends (unicast, broadcast, multicast, anycast)", ErrInvalidTarget)
	}
	wt, err := wireTarget(&t)
	if err != nil {
		return nil, fmt.Errorf("ferry: explain: %w", err)
	}
	var ex Explanation
	if err := c.query(ctx, &wire.Query{Kind: wire.QueryExplain, Subject: []byte(subject), Target: wt}, &ex); err != nil {
		return nil, fmt.Errorf("ferry: explain %q to %v: %w", subject, t, err)
	}
	return &ex, nil
}

// query sends q, waits for its RESULT and decodes the JSON into v.
func (c *Conn) query(ctx context.Context, q *wire.Query, v any) error {
	q.Ref = c.nextRef.Add(1)
	answer := c.addRef(q.Ref)
	if _, err := c.w.appendCtl(q, true); err != nil {
		c.dropRef(q.Ref)
		return err
	}
	res, err := c.awaitRef(ctx, q.Ref, answer)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		return fmt.Errorf("%w: RESULT: %w", ErrProtocol, err)
	}
	return nil
}
