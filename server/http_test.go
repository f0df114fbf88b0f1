package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHTTPListener(t *testing.T) {
	s, err := New(Options{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s.HTTPAddr() != nil {
		t.Fatal("HTTPAddr before Start is not nil")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.HTTPAddr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz after Start: %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "ferry_connections 0") || !strings.Contains(body, `ferry_info{server="ferry",version="`+Version+`"} 1`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if code, body := get("/api/v1/server"); code != 200 || !strings.Contains(body, `"version":"`+Version+`"`) {
		t.Errorf("server info: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := (&http.Client{Timeout: time.Second}).Get(base + "/healthz"); err == nil {
		t.Error("HTTP listener still serves after Shutdown")
	}
}

func TestNoHTTPListenerByDefault(t *testing.T) {
	s := startServer(t)
	if a := s.HTTPAddr(); a != nil {
		t.Errorf("HTTPAddr = %v without HTTPListen", a)
	}
}

func TestHTTPListenError(t *testing.T) {
	s, err := New(Options{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:-1", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "HTTP") {
		t.Fatalf("Start = %v, want an HTTP listen error", err)
	}
}
