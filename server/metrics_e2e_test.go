package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/server"
)

// TestMetricsAfterWorkload drives a real server through the Go client, a
// scripted number of messages per routing mode, requests and durable
// publishes, and checks that /metrics counts exactly those.
func TestMetricsAfterWorkload(t *testing.T) {
	s, err := server.New(server.Options{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connect := func(opts ...ferry.Option) *ferry.Conn {
		nc, err := ferry.Connect(s.URL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc
	}
	for _, id := range []string{"edge-a", "edge-b"} {
		nc := connect(ferry.WithID(id), ferry.WithLabels("type", "edge"))
		if _, err := nc.Handle("work.>", func(*ferry.Msg) {}); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	watcher := connect()
	if _, err := watcher.Subscribe("news.>", func(*ferry.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// Per mode: publish 5 (one reaches nobody), unicast 2, broadcast 1,
	// multicast 1, anycast 3; every payload 5 bytes.
	pub := connect(ferry.WithID("sender"))
	send := func(subject string, target ferry.Target, times int) {
		t.Helper()
		for range times {
			if err := pub.PublishMsg(&ferry.Msg{Subject: subject, Data: []byte("hello"), Target: target}); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("news.today", ferry.Target{}, 4)
	send("nobody.here", ferry.Target{}, 1)
	send("work.x", ferry.ToEndpoint("edge-a"), 2)
	send("work.x", ferry.Broadcast(), 1)
	send("work.x", ferry.MulticastWhere("type=edge"), 1)
	send("work.x", ferry.Anycast(ferry.RoundRobin).Where("type=edge"), 3)
	if err := pub.Flush(ctx); err != nil { // the server has handled every publish
		t.Fatal(err)
	}
	// deliveries: 4 news + 2 unicast + 2 broadcast + 2 multicast + 3 anycast,
	// 5 bytes each
	body := scrape(t, s)
	wantMetrics(t, body,
		`ferry_messages_in_total{mode="publish"} 5`,
		`ferry_messages_in_total{mode="unicast"} 2`,
		`ferry_messages_in_total{mode="broadcast"} 1`,
		`ferry_messages_in_total{mode="multicast"} 1`,
		`ferry_messages_in_total{mode="anycast"} 3`,
		`ferry_bytes_in_total{mode="publish"} 25`,
		`ferry_bytes_in_total{mode="unicast"} 10`,
		`ferry_bytes_in_total{mode="broadcast"} 5`,
		`ferry_bytes_in_total{mode="multicast"} 5`,
		`ferry_bytes_in_total{mode="anycast"} 15`,
		`ferry_messages_out_total{mode="publish"} 4`,
		`ferry_messages_out_total{mode="unicast"} 2`,
		`ferry_messages_out_total{mode="broadcast"} 2`,
		`ferry_messages_out_total{mode="multicast"} 2`,
		`ferry_messages_out_total{mode="anycast"} 3`,
		`ferry_bytes_out_total{mode="publish"} 20`,
		`ferry_bytes_out_total{mode="multicast"} 10`,
		"ferry_no_receivers_total 1",
		"ferry_connections 4",
		"ferry_request_latency_seconds_count 0",
		"ferry_log_append_bytes_count 0",
	)

	// Requests: 3 answered, 1 to nobody (not measured).
	if _, err := connect().Respond("svc.echo", func(m *ferry.Msg) []byte { return m.Data }); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := pub.Request(ctx, "svc.echo", []byte("ping")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.Request(ctx, "svc.none", nil); !errors.Is(err, ferry.ErrNoResponders) {
		t.Fatalf("request to nobody: %v", err)
	}
	// Durable publishes: 3 records of 10, 20 and 30 bytes.
	if err := pub.CreateLog(ctx, ferry.LogConfig{Name: "orders", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, 20, 30} {
		if _, err := pub.PublishDurable(ctx, "orders.new", make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	wantMetrics(t, scrape(t, s),
		"ferry_request_latency_seconds_count 3",
		"ferry_log_append_seconds_count 3",
		"ferry_log_append_bytes_count 3",
		"ferry_log_append_bytes_sum 60",
		"# TYPE ferry_request_latency_seconds histogram",
	)
}

func scrape(t *testing.T, s *server.Server) string {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func wantMetrics(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, want := range lines {
		if !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepFerry(body))
	}
}

func grepFerry(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "ferry_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
