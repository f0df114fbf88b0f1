package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/gateway/httpapi"
	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/logstore"
)

func TestDecisionsAPI(t *testing.T) {
	f := newFixture(t)
	f.workload(t)
	var ds []broker.Decision
	getJSON(t, f, "/api/v1/decisions", 200, &ds)
	// unicast 2, broadcast 1, multicast 1, anycast 3; plain publishes are not decisions
	if len(ds) != 7 {
		t.Fatalf("%d decisions, want 7: %+v", len(ds), ds)
	}
	first, last := ds[0], ds[6]
	if first.Mode != "anycast" || first.Policy != "nearest" || first.Sender != "paris" || first.Chosen[0] != "edge-fra" ||
		!strings.Contains(first.Reason, "nearest: edge-fra is ") || !strings.Contains(first.Reason, "selector matched 2 of 4") {
		t.Errorf("newest decision %+v", first)
	}
	if last.Mode != "unicast" || last.To != "edge-fra" || last.Count != 1 {
		t.Errorf("oldest decision %+v", last)
	}
}

// TestRecentDecisions: the snapshot reads only the decisions it sends, the
// newest, in the order of the full list.
func TestRecentDecisions(t *testing.T) {
	f := newFixture(t)
	for range 10 {
		f.workload(t) // 7 decisions each
	}
	all := f.b.Decisions()
	if len(all) != 70 {
		t.Fatalf("%d decisions, want 70", len(all))
	}
	for _, k := range []int{-1, 0, 1, 7, 50, 70, 300} {
		got := f.b.RecentDecisions(k)
		want := all[:min(max(k, 0), len(all))]
		if len(got) != len(want) {
			t.Errorf("k %d: %d decisions, want %d", k, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].Time != want[i].Time || got[i].Mode != want[i].Mode || got[i].Reason != want[i].Reason {
				t.Errorf("k %d: [%d] %+v, want %+v", k, i, got[i], want[i])
			}
		}
	}
	_, url := eventServer(t, f, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, url)
	defer resp.Body.Close()
	_, data := (&stream{resp: resp, r: bufio.NewReader(resp.Body)}).nextEvent(t)
	var snap httpapi.Snapshot
	if err := json.Unmarshal([]byte(data), &snap); err != nil || len(snap.Decisions) != 50 || snap.Decisions[49].Reason != all[49].Reason {
		t.Errorf("snapshot: %v, %d decisions", err, len(snap.Decisions))
	}
}

func TestSubjectsAPI(t *testing.T) {
	f := newFixture(t)
	f.workload(t)
	var top []broker.SubjectRate
	getJSON(t, f, "/api/v1/subjects", 200, &top)
	if len(top) != 3 || top[0].Subject != "content.get" || top[0].Total != 7 || top[1].Subject != "demo.a" || top[1].Total != 3 {
		t.Fatalf("subjects %+v", top)
	}
	getJSON(t, f, "/api/v1/subjects?limit=1", 200, &top)
	if len(top) != 1 {
		t.Fatalf("limit=1 gave %d", len(top))
	}
	for _, bad := range []string{"0", "101", "x"} {
		var e struct{ Error string }
		getJSON(t, f, "/api/v1/subjects?limit="+bad, 400, &e)
		if !strings.Contains(e.Error, "want 1 to 100") {
			t.Errorf("limit=%s: %q", bad, e.Error)
		}
	}
}

func TestStreamsAPI(t *testing.T) {
	f := newFixture(t)
	var sl httpapi.StreamList
	getJSON(t, f, "/api/v1/streams", 200, &sl)
	if sl.Total != 0 || sl.Streams == nil || len(sl.Streams) != 0 {
		t.Fatalf("streams before: %+v", sl)
	}
	acc, err := f.b.Connect(broker.EndpointInfo{ID: "dash"}, nopSink{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.b.Subscribe(acc, broker.SubSpec{SID: 1, Pattern: "gps.>", Scope: broker.ScopeStream}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.b.OpenStream(f.sender, broker.StreamSpec{ID: 1, Subject: []byte("gps.phone"), Flags: broker.StreamBidi,
		Target: broker.Target{Mode: broker.ModeUnicast, To: []byte("dash")}}); n != 1 || err != nil {
		t.Fatalf("open: %d %v", n, err)
	}
	getJSON(t, f, "/api/v1/streams", 200, &sl)
	if sl.Total != 1 || len(sl.Streams) != 1 {
		t.Fatalf("streams after open: %+v", sl)
	}
	s := sl.Streams[0]
	if s.Opener != "paris" || s.Subject != "gps.phone" || !s.Channel || s.Mode != "unicast" || s.To != "dash" ||
		len(s.Receivers) != 1 || s.Receivers[0].ID != "dash" || s.BackCredit == nil {
		t.Errorf("stream %+v", s)
	}
	// The credits are snake_case like every other field.
	var raw struct {
		Streams []map[string]any `json:"streams"`
	}
	getJSON(t, f, "/api/v1/streams", 200, &raw)
	for _, k := range []string{"credit", "back_credit"} {
		c, ok := raw.Streams[0][k].(map[string]any)
		_, msgs := c["msgs"]
		_, bytes := c["bytes"]
		if !ok || !msgs || !bytes || len(c) != 2 {
			t.Errorf("%s: %v, want {msgs, bytes}", k, raw.Streams[0][k])
		}
	}
}

func TestLogViews(t *testing.T) {
	infos := []logs.LogInfo{{
		Config: logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, Storage: "file"},
		State:  logstore.State{FirstSeq: 3, LastSeq: 10, Msgs: 8, Bytes: 800, ReadOnly: errors.New("disk full")},
		Consumers: []logs.ConsumerInfo{
			{Name: "billing", Durable: true, Delivered: 9, AckFloor: 6, Pending: 3},
			{Name: "done", AckFloor: 10},
		},
	}}
	lv := httpapi.LogViews(infos)
	if len(lv) != 1 || lv[0].Messages != 8 || lv[0].Bytes != 800 || lv[0].FirstSeq != 3 || lv[0].LastSeq != 10 || lv[0].ReadOnly != "disk full" {
		t.Fatalf("log view %+v", lv)
	}
	if c := lv[0].Consumers; len(c) != 2 || c[0].Lag != 4 || c[0].Pending != 3 || c[1].Lag != 0 {
		t.Fatalf("consumers %+v", c)
	}

	b := broker.New(broker.Config{})
	h := httpapi.New(httpapi.Config{Broker: b, Logs: func() []httpapi.LogView { return lv }, Drops: func() map[string]uint64 { return map[string]uint64{"drop-oldest": 5} }})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := &fixture{b: b, h: h, srv: srv}
	var got []httpapi.LogView
	getJSON(t, f, "/api/v1/logs", 200, &got)
	if len(got) != 1 || got[0].Consumers[0].Lag != 4 {
		t.Fatalf("logs API %+v", got)
	}
	var ev []broker.Event
	getJSON(t, f, "/api/v1/recent-events", 200, &ev)
	kinds := map[string]string{}
	for _, e := range ev {
		kinds[e.Kind] = e.Text
	}
	if len(ev) != 2 || !strings.Contains(kinds[broker.EventLogReadOnly], "log orders refuses appends: disk full") ||
		!strings.Contains(kinds[broker.EventDropped], "5 messages dropped") {
		t.Fatalf("events %+v", ev)
	}
	getJSON(t, f, "/api/v1/recent-events", 200, &ev)
	if len(ev) != 2 {
		t.Fatalf("events recorded again without a change: %+v", ev)
	}
}

func TestSnapshotHasDashboardPanels(t *testing.T) {
	f := newFixture(t)
	f.workload(t)
	_, url := eventServer(t, f, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, url)
	defer resp.Body.Close()
	name, data := (&stream{resp: resp, r: bufio.NewReader(resp.Body)}).nextEvent(t)
	var snap httpapi.Snapshot
	if err := json.Unmarshal([]byte(data), &snap); err != nil || name != "snapshot" {
		t.Fatalf("%s: %v", name, err)
	}
	if len(snap.Decisions) != 7 || len(snap.Subjects) != 3 || snap.Streams.Streams == nil || snap.Logs == nil || snap.Events == nil {
		t.Fatalf("snapshot panels: %d decisions, %d subjects, streams %+v, logs %v, events %+v",
			len(snap.Decisions), len(snap.Subjects), snap.Streams, snap.Logs, snap.Events)
	}
}
