package native

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/wire"
)

// target converts a wire target to the broker's; byte fields alias the
// frame.
func target(t *wire.Target) broker.Target {
	return broker.Target{
		Mode: broker.Mode(t.Mode), To: t.To, Where: t.Where, Policy: route.Policy(t.Policy),
		Key: t.Key, HasNear: t.HasNear, Lat: t.Lat, Lon: t.Lon,
		Timeout: time.Duration(t.TimeoutMillis) * time.Millisecond,
	}
}

func (c *conn) handleMeta(body []byte) error {
	var m wire.Meta
	if err := m.Decode(body); err != nil {
		return err
	}
	labels := make(map[string]string, len(m.Labels))
	for _, l := range m.Labels {
		labels[l.Key] = l.Value
	}
	err := c.g.broker.SetMeta(c.ep, broker.Meta{Region: m.Region, Labels: labels, HasLocation: m.HasLocation, Lat: m.Lat, Lon: m.Lon})
	c.answer(m.Ref, 0, err)
	return nil
}

func (c *conn) handleMembership(op wire.Op, body []byte) error {
	m := wire.Membership{Op: op}
	if err := m.Decode(body); err != nil {
		return err
	}
	var err error
	if op == wire.OpJoin {
		err = c.g.broker.Join(c.ep, m.Group)
	} else {
		err = c.g.broker.Leave(c.ep, m.Group)
	}
	c.answer(m.Ref, 0, err)
	return nil
}

// handleQuery answers a QUERY with a RESULT carrying JSON, or ERR.
func (c *conn) handleQuery(body []byte) error {
	var q wire.Query
	if err := q.Decode(body); err != nil {
		return err
	}
	var v any
	var err error
	switch q.Kind {
	case wire.QueryEndpoints:
		v, err = c.g.broker.Endpoints(q.Where)
	case wire.QueryGroups:
		v = c.g.broker.Groups()
	case wire.QueryExplain:
		v, err = c.g.broker.Explain(c.ep, q.Subject, target(&q.Target))
	case wire.QueryServer:
		v = c.g.serverInfo()
	default:
		err = fmt.Errorf("%w: query kind %d", broker.ErrNotSupported, q.Kind)
	}
	if err != nil {
		c.sendErr(q.Ref, codeFor(err), err.Error())
		return nil
	}
	js, err := json.Marshal(v)
	if err != nil {
		c.sendErr(q.Ref, wire.CodeNotSupported, fmt.Sprintf("encoding the answer: %v", err))
		return nil
	}
	c.queue(func(b []byte) []byte { return (&wire.Result{Ref: q.Ref, Body: js}).Append(b) })
	return nil
}

// ServerInfo is the QUERY server answer: identity and counters.
type ServerInfo struct {
	Server      string       `json:"server"`
	Connections int          `json:"connections"`
	Stats       broker.Stats `json:"stats"`
	Dropped     uint64       `json:"dropped"` // messages dropped by backpressure policies
	// TopSubjects are the busiest subjects (broker.TopSubjects), at most
	// topSubjects of them.
	TopSubjects []broker.SubjectRate `json:"top_subjects"`
}

// topSubjects is how many subjects QUERY server lists.
const topSubjects = 20

func (g *Gateway) serverInfo() ServerInfo {
	return ServerInfo{Server: g.cfg.ServerName, Connections: g.NumConns(), Stats: g.broker.Stats(), Dropped: g.Dropped(),
		TopSubjects: g.broker.TopSubjects(topSubjects)}
}
