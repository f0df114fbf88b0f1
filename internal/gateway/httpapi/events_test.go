package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/gateway/httpapi"
)

// eventServer serves f's broker with a handler that has its own event
// settings. Close runs before the test server's Close, which would
// otherwise wait for the open streams.
func eventServer(t *testing.T, f *fixture, maxClients int) (*httpapi.Handler, string) {
	t.Helper()
	h := httpapi.New(httpapi.Config{Broker: f.b, Name: "test", MaxEventClients: maxClients, EventInterval: 20 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return h, srv.URL
}

type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// nextEvent reads one event: its name and its data.
func (s *stream) nextEvent(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the event stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestEventsSnapshot(t *testing.T) {
	f := newFixture(t)
	f.workload(t)
	_, url := eventServer(t, f, 0)
	resp := openStream(t, context.Background(), url)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{resp: resp, r: bufio.NewReader(resp.Body)}
	for i := range 2 { // the one at connect, then a periodic one
		name, data := s.nextEvent(t)
		if name != "snapshot" {
			t.Fatalf("event %d is %q, want snapshot", i, name)
		}
		var snap httpapi.Snapshot
		if err := json.Unmarshal([]byte(data), &snap); err != nil {
			t.Fatalf("event %d: %v in %s", i, err, data)
		}
		if snap.Server.Server != "test" || snap.Server.MessagesIn != 11 || snap.Server.Endpoints != 4 {
			t.Errorf("event %d server %+v", i, snap.Server)
		}
		found := false
		for _, ep := range snap.Endpoints {
			if ep.ID == "edge-fra" && ep.Location != nil && ep.Location.Lat == 50.11 {
				found = true
			}
		}
		if !found || len(snap.Endpoints) != 4 {
			t.Errorf("event %d endpoints %+v, want 4 with edge-fra located", i, snap.Endpoints)
		}
		if len(snap.Groups) != 1 || snap.Groups[0].Name != "edges" {
			t.Errorf("event %d groups %+v", i, snap.Groups)
		}
	}
}

// waitEnd fails unless the body ends within a few seconds.
func waitEnd(t *testing.T, body io.Reader) {
	t.Helper()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, body); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("event stream did not end")
	}
}

func TestEventsBoundAndCancel(t *testing.T) {
	f := newFixture(t)
	_, url := eventServer(t, f, 1)
	ctx, cancel := context.WithCancel(context.Background())
	a := openStream(t, ctx, url)
	defer a.Body.Close()
	(&stream{resp: a, r: bufio.NewReader(a.Body)}).nextEvent(t)

	b := openStream(t, context.Background(), url)
	body, _ := io.ReadAll(b.Body)
	b.Body.Close()
	if b.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "too many event streams") {
		t.Fatalf("second stream over a bound of 1: %d %s, want 503", b.StatusCode, body)
	}

	// Cancelling the first request ends its handler and frees the slot.
	cancel()
	waitEnd(t, a.Body)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := openStream(t, context.Background(), url)
		c.Body.Close()
		if c.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after cancel: %d", c.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEventsClose(t *testing.T) {
	f := newFixture(t)
	h, url := eventServer(t, f, 0)
	resp := openStream(t, context.Background(), url)
	defer resp.Body.Close()
	s := &stream{resp: resp, r: bufio.NewReader(resp.Body)}
	s.nextEvent(t)
	h.Close()
	waitEnd(t, s.r)
	h.Close() // idempotent
	again := openStream(t, context.Background(), url)
	again.Body.Close()
	if again.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: %d, want 503", again.StatusCode)
	}
	// The rest of the API still answers.
	if r, err := http.Get(url + "/api/v1/server"); err != nil || r.StatusCode != 200 {
		t.Errorf("server API after Close: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}

func TestDashboardRoutes(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script src="/static/app.js"></script>`},
		{"/static/app.js", "text/javascript; charset=utf-8", "/api/v1/events"},
		{"/static/style.css", "text/css; charset=utf-8", "#map"},
	} {
		code, body, hdr := get(t, f, c.path)
		if code != 200 || hdr.Get("Content-Type") != c.ctype || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", c.path, code, hdr.Get("Content-Type"), c.contains, strings.Contains(body, c.contains))
		}
	}
	for _, p := range []string{"/static/nothing.js", "/index.html", "/elsewhere"} {
		if code, _, _ := get(t, f, p); code != 404 {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}
