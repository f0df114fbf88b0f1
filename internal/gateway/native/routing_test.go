package native

import (
	"encoding/json"
	"testing"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

func (c *rawClient) ok(ref uint64) *wire.Ok {
	c.t.Helper()
	for {
		switch f := c.next().(type) {
		case *wire.Ok:
			if f.Ref == ref {
				return f
			}
		case *wire.Err:
			c.t.Fatalf("ref %d: ERR %v %s", ref, f.Code, f.Message)
		case nil:
			c.t.Fatalf("ref %d: connection ended", ref)
		}
	}
}

func TestRoutingFramesOverTCP(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	member := connectRaw(t, addr, "tv1")
	member.write((&wire.Meta{Ref: 1, Region: "eu", Labels: []wire.Label{{Key: "type", Value: "tv"}}, HasLocation: true, Lat: 50, Lon: 8}).Append(nil))
	member.ok(1)
	member.write((&wire.Membership{Op: wire.OpJoin, Ref: 2, Group: "channel.7"}).Append(nil))
	member.ok(2)
	member.write((&wire.Sub{Ref: 3, SID: 3, Scope: wire.ScopeGroup, Pattern: []byte(">")}).Append(nil))
	member.ok(3)

	src := connectRaw(t, addr, "src")
	src.write((&wire.Pub{Ref: 4, Subject: []byte("video"), Payload: []byte("frame"),
		Target: wire.Target{Mode: wire.ModeMulticast, To: []byte("channel.7")}}).Append(nil))
	if n := src.ok(4).Count; n != 1 {
		t.Fatalf("multicast reached %d", n)
	}
	m, _ := member.next().(*wire.Msg)
	if m == nil || m.Mode != wire.ModeMulticast || string(m.From) != "src" || m.SID != 3 {
		t.Fatalf("member got %#v", m)
	}

	src.write((&wire.Query{Ref: 5, Kind: wire.QueryEndpoints, Where: []byte("type=tv")}).Append(nil))
	res, _ := src.next().(*wire.Result)
	if res == nil || res.Ref != 5 {
		t.Fatalf("query answered %#v", res)
	}
	var eps []broker.EndpointView
	if err := json.Unmarshal(res.Body, &eps); err != nil || len(eps) != 1 || eps[0].ID != "tv1" || eps[0].Region != "eu" || len(eps[0].Groups) != 1 {
		t.Fatalf("endpoints %s: %v", res.Body, err)
	}
	src.write((&wire.Query{Ref: 6, Kind: wire.QueryGroups}).Append(nil))
	res, _ = src.next().(*wire.Result)
	var groups []broker.GroupInfo
	if res == nil || json.Unmarshal(res.Body, &groups) != nil || len(groups) != 1 || groups[0].Members[0] != "tv1" {
		t.Fatalf("groups %#v", res)
	}
}
