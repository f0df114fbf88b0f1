package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/gateway/httpapi"
	"github.com/ferrymq/ferry/internal/route"
)

type nopSink struct{}

func (nopSink) Deliver(uint64, *broker.Message) bool { return true }
func (nopSink) Pending() (int, int)                  { return 0, 0 }
func (nopSink) Stream(*broker.StreamFrame) bool      { return true }

// fixture is a broker with a sender in Paris, two edges (Frankfurt,
// Singapore) and a topic subscriber, behind an httpapi handler.
type fixture struct {
	b      *broker.Broker
	h      *httpapi.Handler
	srv    *httptest.Server
	sender *broker.Endpoint
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	b := broker.New(broker.Config{})
	connect := func(info broker.EndpointInfo, specs ...broker.SubSpec) *broker.Endpoint {
		ep, err := b.Connect(info, nopSink{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			if err := b.Subscribe(ep, s); err != nil {
				t.Fatal(err)
			}
		}
		return ep
	}
	edgeSub := broker.SubSpec{SID: 1, Pattern: "content.get", Scope: broker.ScopeTopic | broker.ScopeInbox | broker.ScopeGroup}
	fra := connect(broker.EndpointInfo{ID: "edge-fra", Labels: map[string]string{"type": "edge"}, HasLocation: true, Lat: 50.11, Lon: 8.68}, edgeSub)
	connect(broker.EndpointInfo{ID: "edge-sin", Labels: map[string]string{"type": "edge"}, HasLocation: true, Lat: 1.35, Lon: 103.82}, edgeSub)
	connect(broker.EndpointInfo{ID: "watcher"}, broker.SubSpec{SID: 1, Pattern: "demo.>"})
	sender := connect(broker.EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.86, Lon: 2.35})
	if err := b.Join(fra, "edges"); err != nil {
		t.Fatal(err)
	}
	dropped := uint64(7)
	h := httpapi.New(httpapi.Config{
		Broker: b, Name: "test", Version: "9.9.9",
		Connections: func() int { return 4 }, Drops: func() map[string]uint64 { return map[string]uint64{"drop-newest": dropped - 2, "max-pending": 2} },
		Uptime: func() time.Duration { return 90 * time.Second },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{b: b, h: h, srv: srv, sender: sender}
}

// workload publishes per mode: publish 4 (one reaches nobody), unicast 2,
// broadcast 1, multicast 1, anycast 3; 5-byte payloads.
func (f *fixture) workload(t *testing.T) {
	t.Helper()
	send := func(subj string, tg broker.Target, times int) {
		for range times {
			if _, err := f.b.Publish(f.sender, &broker.Message{Subject: []byte(subj), From: []byte("paris"), Payload: []byte("hello")}, tg); err != nil {
				t.Fatalf("%s %v: %v", subj, tg.Mode, err)
			}
		}
	}
	send("demo.a", broker.Target{}, 3)
	send("nobody.here", broker.Target{}, 1)
	send("content.get", broker.Target{Mode: broker.ModeUnicast, To: []byte("edge-fra")}, 2)
	send("content.get", broker.Target{Mode: broker.ModeBroadcast}, 1)
	send("content.get", broker.Target{Mode: broker.ModeMulticast, To: []byte("edges")}, 1)
	send("content.get", broker.Target{Mode: broker.ModeAnycast, Where: []byte("type=edge"), Policy: route.Nearest}, 3)
}

func get(t *testing.T, f *fixture, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.workload(t)
	code, body, hdr := get(t, f, "/metrics")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", code, hdr.Get("Content-Type"))
	}
	st := f.b.Stats()
	// 3 fan-out + 2 unicast + 2 broadcast + 1 multicast + 3 anycast
	if st.MsgsOut != 11 {
		t.Fatalf("workload delivered %d, want 11", st.MsgsOut)
	}
	for _, want := range []string{
		"ferry_connections 4",
		"ferry_endpoints 4",
		"ferry_subscriptions 3",
		`ferry_messages_in_total{mode="publish"} 4`,
		`ferry_messages_in_total{mode="unicast"} 2`,
		`ferry_messages_in_total{mode="broadcast"} 1`,
		`ferry_messages_in_total{mode="multicast"} 1`,
		`ferry_messages_in_total{mode="anycast"} 3`,
		`ferry_bytes_in_total{mode="publish"} 20`,
		`ferry_bytes_in_total{mode="unicast"} 10`,
		`ferry_bytes_in_total{mode="broadcast"} 5`,
		`ferry_bytes_in_total{mode="multicast"} 5`,
		`ferry_bytes_in_total{mode="anycast"} 15`,
		`ferry_messages_out_total{mode="publish"} 3`,
		`ferry_messages_out_total{mode="unicast"} 2`,
		`ferry_messages_out_total{mode="broadcast"} 2`,
		`ferry_messages_out_total{mode="multicast"} 1`,
		`ferry_messages_out_total{mode="anycast"} 3`,
		`ferry_bytes_out_total{mode="publish"} 15`,
		`ferry_bytes_out_total{mode="anycast"} 15`,
		"ferry_no_receivers_total 1",
		"ferry_slow_consumers_total 0",
		`ferry_dropped_total{reason="drop-newest"} 5`,
		`ferry_dropped_total{reason="max-pending"} 2`,
		"ferry_failovers_total 0",
		"ferry_streams_total 0",
		"ferry_stream_messages_total 0",
		"ferry_stream_stalls_total 0",
		"ferry_uptime_seconds 90",
		`ferry_info{server="test",version="9.9.9"} 1`,
		"# TYPE ferry_messages_in_total counter",
		"# TYPE ferry_connections gauge",
	} {
		if !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "demo.a") || strings.Contains(body, "content.get") {
		t.Error("metrics carry subjects as labels")
	}
}

func TestHealthAndReady(t *testing.T) {
	f := newFixture(t)
	if code, body, _ := get(t, f, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _, _ := get(t, f, "/readyz"); code != 503 {
		t.Errorf("readyz before SetReady: %d, want 503", code)
	}
	f.h.SetReady(true)
	if code, _, _ := get(t, f, "/readyz"); code != 200 {
		t.Errorf("readyz when ready: %d, want 200", code)
	}
	f.h.SetReady(false)
	if code, _, _ := get(t, f, "/readyz"); code != 503 {
		t.Errorf("readyz in shutdown: %d, want 503", code)
	}
	resp, err := http.Post(f.srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", resp.StatusCode)
	}
}

func getJSON(t *testing.T, f *fixture, path string, wantCode int, v any) {
	t.Helper()
	code, body, hdr := get(t, f, path)
	if code != wantCode {
		t.Fatalf("GET %s: %d %s, want %d", path, code, body, wantCode)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: content type %q", path, ct)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func TestServerJSON(t *testing.T) {
	f := newFixture(t)
	f.workload(t)
	var si httpapi.ServerInfo
	getJSON(t, f, "/api/v1/server", 200, &si)
	if si.Server != "test" || si.Version != "9.9.9" || si.UptimeSeconds != 90 || si.Connections != 4 ||
		si.Endpoints != 4 || si.MessagesIn != 11 || si.MessagesOut != 11 || si.Dropped != 7 || si.NoReceivers != 1 {
		t.Errorf("server info %+v", si)
	}
	want := map[string]uint64{"publish": 4, "unicast": 2, "broadcast": 1, "multicast": 1, "anycast": 3}
	for m, n := range want {
		if si.MessagesInByMode[m] != n {
			t.Errorf("messages_in_by_mode[%s] = %d, want %d", m, si.MessagesInByMode[m], n)
		}
	}
}

func TestEndpointsAndGroups(t *testing.T) {
	f := newFixture(t)
	var eps []broker.EndpointView
	getJSON(t, f, "/api/v1/endpoints?where="+url.QueryEscape("type=edge"), 200, &eps)
	if len(eps) != 2 || eps[0].ID != "edge-fra" || eps[1].ID != "edge-sin" || eps[0].Location == nil {
		t.Errorf("endpoints where type=edge: %+v", eps)
	}
	getJSON(t, f, "/api/v1/endpoints", 200, &eps)
	if len(eps) != 4 {
		t.Errorf("all endpoints: %d, want 4", len(eps))
	}
	getJSON(t, f, "/api/v1/endpoints?where="+url.QueryEscape("type=nothing"), 200, &eps)
	if eps == nil || len(eps) != 0 {
		t.Errorf("no match: %+v, want []", eps)
	}
	var e struct{ Error string }
	getJSON(t, f, "/api/v1/endpoints?where="+url.QueryEscape("a in (b"), 400, &e)
	if e.Error == "" {
		t.Error("bad selector: no error message")
	}
	var groups []broker.GroupInfo
	getJSON(t, f, "/api/v1/groups", 200, &groups)
	if len(groups) != 1 || groups[0].Name != "edges" || len(groups[0].Members) != 1 || groups[0].Members[0] != "edge-fra" {
		t.Errorf("groups: %+v", groups)
	}
	getJSON(t, f, "/api/v1/nothing", 404, &e)
}

func TestExplain(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"subject": {"content.get"}, "mode": {"anycast"}, "where": {"type=edge"}, "policy": {"nearest"}, "near": {"48.86,2.35"}}
	var ex broker.Explanation
	getJSON(t, f, "/api/v1/explain?"+q.Encode(), 200, &ex)
	if len(ex.Chosen) != 1 || ex.Chosen[0] != "edge-fra" {
		t.Fatalf("chosen %v, want [edge-fra]: %+v", ex.Chosen, ex)
	}
	if ex.Origin == nil || len(ex.Candidates) != 4 || ex.Reason == "" {
		t.Errorf("explanation %+v", ex)
	}
	q.Set("to", "edges")
	q.Set("mode", "multicast")
	q.Del("policy")
	getJSON(t, f, "/api/v1/explain?"+q.Encode(), 200, &ex)
	if len(ex.Chosen) != 1 || ex.Chosen[0] != "edge-fra" {
		t.Errorf("multicast to edges chose %v", ex.Chosen)
	}

	for _, bad := range []string{
		"mode=anycast",                                  // no subject
		"subject=content.get",                           // no mode
		"subject=content.get&mode=sideways",             // unknown mode
		"subject=content.get&mode=publish",              // not targeted
		"subject=content.get&mode=unicast",              // no to
		"subject=content.*&mode=broadcast",              // wildcard
		"subject=content.get&mode=anycast&policy=worst", // unknown policy
		"subject=content.get&mode=anycast&near=200,0",   // bad point
		"subject=content.get&mode=anycast&near=paris",   // bad point
		"subject=content.get&mode=broadcast&policy=nearest",
		"subject=content.get&mode=anycast&where=" + url.QueryEscape("a in (b"),
	} {
		var e struct{ Error string }
		getJSON(t, f, "/api/v1/explain?"+bad, 400, &e)
		if e.Error == "" {
			t.Errorf("%s: empty error", bad)
		}
	}
}
