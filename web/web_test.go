package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/gateway/httpapi"
	"github.com/ferrymq/ferry/web"
)

func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Header()
}

func TestIndex(t *testing.T) {
	code, body, hdr := get(t, web.Handler(), "/")
	if code != 200 || hdr.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{`<script src="/static/app.js"></script>`, `href="/static/style.css"`, `<svg id="map"`, `<form id="explain">`} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if hdr.Get("Content-Security-Policy") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", hdr)
	}
}

func TestStaticTypes(t *testing.T) {
	for path, ct := range map[string]string{
		"/static/app.js":    "text/javascript; charset=utf-8",
		"/static/style.css": "text/css; charset=utf-8",
	} {
		code, body, hdr := get(t, web.Handler(), path)
		if code != 200 || hdr.Get("Content-Type") != ct || len(body) == 0 {
			t.Errorf("GET %s: %d %q (%d bytes), want 200 %q", path, code, hdr.Get("Content-Type"), len(body), ct)
		}
	}
	for _, path := range []string{"/static/missing.js", "/static/", "/static/../doc.go", "/index.html", "/web.go"} {
		if code, _, _ := get(t, web.Handler(), path); code != 404 {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// TestSelfContained checks the page loads nothing from elsewhere (no
// tiles, fonts or CDNs) and that the script stays small.
func TestSelfContained(t *testing.T) {
	err := fs.WalkDir(web.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.FS, path)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if strings.Contains(text, bad) {
				t.Errorf("%s refers to something outside the binary: %q", path, bad)
			}
		}
		if path == "static/app.js" {
			if n := strings.Count(text, "\n"); n > 300 {
				t.Errorf("app.js has %d lines, keep it under 300", n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type nopSink struct{}

func (nopSink) Deliver(uint64, *broker.Message) bool { return true }
func (nopSink) Pending() (int, int)                  { return 0, 0 }
func (nopSink) Stream(*broker.StreamFrame) bool      { return true }

// TestAPIUsedByThePage checks that the API calls in app.js answer through
// the real HTTP handler.
func TestAPIUsedByThePage(t *testing.T) {
	b := broker.New(broker.Config{})
	ep, err := b.Connect(broker.EndpointInfo{ID: "edge-fra", Labels: map[string]string{"type": "edge"}, HasLocation: true, Lat: 50.11, Lon: 8.68}, nopSink{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ep, broker.SubSpec{SID: 1, Pattern: "content.get", Scope: broker.ScopeTopic | broker.ScopeInbox | broker.ScopeGroup}); err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(httpapi.Config{Broker: b, Name: "web-test"})
	defer h.Close()
	_, js, _ := get(t, h, "/static/app.js")
	for _, api := range []string{"/api/v1/events", "/api/v1/explain"} {
		if !strings.Contains(js, `"`+api) {
			t.Errorf("app.js does not call %s", api)
		}
	}
	q := url.Values{"subject": {"content.get"}, "mode": {"anycast"}, "where": {"type=edge"}, "policy": {"nearest"}, "near": {"48.86,2.35"}}
	code, body, _ := get(t, h, "/api/v1/explain?"+q.Encode())
	if code != 200 || !strings.Contains(body, `"chosen":["edge-fra"]`) {
		t.Errorf("explain: %d %s", code, body)
	}
}
