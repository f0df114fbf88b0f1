package server

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/ferrymq/ferry/internal/logs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// frames reads frames until one satisfies stop, decoding each.
func nextFrame(t *testing.T, nc net.Conn, r *wire.Reader) wire.Frame {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, body, err := r.Next()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	f, err := wire.Decode(op, body)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func logCall(t *testing.T, nc net.Conn, r *wire.Reader, ref uint64, action wire.LogAction, body string) string {
	t.Helper()
	nc.Write((&wire.Log{Ref: ref, Action: action, Body: []byte(body)}).Append(nil))
	for {
		switch f := nextFrame(t, nc, r).(type) {
		case *wire.Result:
			return string(f.Body)
		case *wire.Err:
			t.Fatalf("LOG %v %s: ERR %d %s", action, body, f.Code, f.Message)
		}
	}
}

func pub(t *testing.T, nc net.Conn, r *wire.Reader, ref uint64, subj, msgID string) wire.Ok {
	t.Helper()
	var hdr []byte
	if msgID != "" {
		hdr = wire.AppendHeaders(nil, []wire.HeaderField{{Key: wire.MsgIDHeader, Value: msgID}})
	}
	nc.Write((&wire.Pub{Ref: ref, Subject: []byte(subj), Headers: hdr, Payload: []byte("p")}).Append(nil))
	for {
		switch f := nextFrame(t, nc, r).(type) {
		case *wire.Ok:
			return *f
		case *wire.Err:
			t.Fatalf("PUB: ERR %d %s", f.Code, f.Message)
		}
	}
}

func shutdown(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLogsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	nc, r := dial(t, s, "p")
	logCall(t, nc, r, 1, wire.LogCreate, `{"name":"orders","subjects":["orders.>"],"dedupe_window_ns":60000000000}`)
	for i := range 3 {
		if ok := pub(t, nc, r, uint64(2+i), "orders.eu", string(rune('a'+i))); ok.Seq != uint64(i+1) {
			t.Fatalf("OK %+v, want seq %d", ok, i+1)
		}
	}
	if ok := pub(t, nc, r, 9, "orders.eu", "b"); ok.Seq != 2 {
		t.Fatalf("duplicate: OK %+v, want seq 2", ok)
	}
	shutdown(t, s)

	s, err = New(Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)
	nc, r = dial(t, s, "p")
	var f struct {
		Records []struct {
			Seq     uint64 `json:"seq"`
			Payload []byte `json:"payload"`
		} `json:"records"`
	}
	js := logCall(t, nc, r, 1, wire.LogFetch, `{"log":"orders","ack":"none"}`)
	if err := json.Unmarshal([]byte(js), &f); err != nil || len(f.Records) != 3 || f.Records[2].Seq != 3 {
		t.Fatalf("fetch after restart = %s (%v)", js, err)
	}
	if ok := pub(t, nc, r, 2, "orders.eu", "c"); ok.Seq != 3 {
		t.Fatalf("duplicate after restart: OK %+v, want seq 3", ok)
	}
	if ok := pub(t, nc, r, 3, "orders.eu", ""); ok.Seq != 4 {
		t.Fatalf("OK %+v, want seq 4", ok)
	}
}

func TestLogsInMemoryWithoutDataDir(t *testing.T) {
	s, err := New(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)
	nc, r := dial(t, s, "p")
	var info struct {
		Config struct {
			Storage string `json:"storage"`
		} `json:"config"`
	}
	js := logCall(t, nc, r, 1, wire.LogCreate, `{"name":"ev","subjects":["ev"]}`)
	if err := json.Unmarshal([]byte(js), &info); err != nil || info.Config.Storage != "memory" {
		t.Fatalf("create = %s (%v), want memory storage", js, err)
	}
}

// TestDeadLetterPublished: a record past max deliveries is published to the
// dead-letter subject through the broker.
func TestDeadLetterPublished(t *testing.T) {
	s := startServer(t)
	defer shutdown(t, s)
	nc, r := dial(t, s, "p")
	sc, sr := dial(t, s, "s")
	sc.Write((&wire.Sub{Ref: 1, SID: 7, Pattern: []byte("$DLQ.>")}).Append(nil))
	if _, ok := nextFrame(t, sc, sr).(*wire.Ok); !ok {
		t.Fatal("SUB not acknowledged")
	}
	logCall(t, nc, r, 1, wire.LogCreate, `{"name":"jobs","subjects":["jobs"]}`)
	pub(t, nc, r, 2, "jobs", "")
	logCall(t, nc, r, 3, wire.LogFetch, `{"log":"jobs","consumer":"w","ack_wait_ms":20,"max_deliveries":1}`)
	m, ok := nextFrame(t, sc, sr).(*wire.Msg)
	if !ok || string(m.Subject) != "$DLQ.jobs.w" || string(m.Payload) != "p" {
		t.Fatalf("dead letter = %#v", m)
	}
}

// subscribe sends SUB and waits for its OK.
func subscribe(t *testing.T, nc net.Conn, r *wire.Reader, sid uint64, pattern string) {
	t.Helper()
	nc.Write((&wire.Sub{Ref: sid, SID: sid, Pattern: []byte(pattern)}).Append(nil))
	for {
		switch f := nextFrame(t, nc, r).(type) {
		case *wire.Ok:
			return
		case *wire.Err:
			t.Fatalf("SUB %s: ERR %d %s", pattern, f.Code, f.Message)
		}
	}
}

// nextPush reads frames until a MSG and returns its log headers.
func nextPush(t *testing.T, nc net.Conn, r *wire.Reader) map[string]string {
	t.Helper()
	for {
		if m, ok := nextFrame(t, nc, r).(*wire.Msg); ok {
			hs, err := wire.ParseHeaders(m.Headers)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]string{"subject": string(m.Subject)}
			for _, h := range hs {
				out[h.Key] = h.Value
			}
			return out
		}
	}
}

func startServerIn(t *testing.T, dir string) *Server {
	t.Helper()
	s, err := New(Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPushConsumerResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServerIn(t, dir)
	ctl, cr := dial(t, s, "ctl")
	sub, sr := dial(t, s, "sub")
	subscribe(t, sub, sr, 1, "push.w")
	logCall(t, ctl, cr, 1, wire.LogCreate, `{"name":"jobs","subjects":["jobs.>"]}`)
	logCall(t, ctl, cr, 2, wire.LogConsume, `{"log":"jobs","consumer":"w","deliver_subject":"push.w","ack_wait_ms":300}`)
	pub(t, ctl, cr, 3, "jobs.a", "")
	pub(t, ctl, cr, 4, "jobs.a", "")
	for _, want := range []string{"1", "2"} {
		if h := nextPush(t, sub, sr); h[logs.HeaderSeq] != want || h["subject"] != "push.w" {
			t.Fatalf("push %v, want seq %s", h, want)
		}
	}
	logCall(t, ctl, cr, 5, wire.LogAck, `{"log":"jobs","consumer":"w","seq":1}`)
	shutdown(t, s)

	s = startServerIn(t, dir)
	defer shutdown(t, s)
	ctl, cr = dial(t, s, "ctl")
	sub, sr = dial(t, s, "sub")
	subscribe(t, sub, sr, 1, "push.w")
	pub(t, ctl, cr, 6, "jobs.a", "")
	seen := map[string]bool{}
	for !seen["2"] || !seen["3"] {
		h := nextPush(t, sub, sr)
		if h[logs.HeaderSeq] == "1" {
			t.Fatalf("acknowledged record pushed again: %v", h)
		}
		seen[h[logs.HeaderSeq]] = true
	}
}

// TestDeliverCountsReceivers checks the server's Deliver: a push nobody
// receives is handed back and not counted as a delivery.
func TestDeliverCountsReceivers(t *testing.T) {
	s := startServerIn(t, "")
	defer shutdown(t, s)
	ctl, cr := dial(t, s, "ctl")
	logCall(t, ctl, cr, 1, wire.LogCreate, `{"name":"jobs","subjects":["jobs.>"]}`)
	logCall(t, ctl, cr, 2, wire.LogConsume, `{"log":"jobs","consumer":"w","deliver_subject":"push.w"}`)
	pub(t, ctl, cr, 3, "jobs.a", "")
	sub, sr := dial(t, s, "sub")
	subscribe(t, sub, sr, 1, "push.w")
	if h := nextPush(t, sub, sr); h[logs.HeaderSeq] != "1" || h["Ferry-Deliveries"] != "1" || h["Ferry-Consumer"] != "w" {
		t.Fatalf("push %v, want seq 1, first delivery", h)
	}
}

// TestDeliverBeforeReady checks that a push before New is done reports
// nobody at once instead of waiting for a server that may never be built.
func TestDeliverBeforeReady(t *testing.T) {
	s := &Server{ready: make(chan struct{})}
	res := make(chan int, 1)
	go func() {
		n, err := s.deliver("push.w", nil, []byte("x"))
		if err != nil {
			t.Errorf("deliver: %v", err)
		}
		res <- n
	}()
	select {
	case n := <-res:
		if n != 0 {
			t.Fatalf("deliver reached %d before the broker exists", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deliver blocked before New was done")
	}
}

// TestNewFailsOnCorruptConsumer checks that New returns the error of a log
// that fails to load after one with a push consumer and a record to push.
func TestNewFailsOnCorruptConsumer(t *testing.T) {
	dir := t.TempDir()
	m, err := logs.Open(logs.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := m.Create(logs.LogConfig{Name: name, Subjects: []string{name + ".>"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Consumer(logs.ConsumerConfig{Log: "a", Name: "w", DeliverSubject: "push.w", AckWait: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append(context.Background(), "a.x", nil, []byte("x"), ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "consumers", "b")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "zzz.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		s, err := New(Options{Listen: "127.0.0.1:0", DataDir: dir})
		if err == nil {
			s.logs.Close()
		}
		res <- err
	}()
	select {
	case err := <-res:
		if err == nil {
			t.Fatal("New succeeded with a corrupt consumer file")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("New hung on a log that failed to load")
	}
}

// TestDeliverUndeliverable checks that a push the broker can never take is
// marked so the manager dead-letters it instead of retrying.
func TestDeliverUndeliverable(t *testing.T) {
	s := startServerIn(t, "")
	defer shutdown(t, s)
	tests := []struct {
		name    string
		subject string
		payload []byte
		never   bool
	}{
		{"fine", "push.w", []byte("x"), false},
		{"payload too large", "push.w", make([]byte, s.opts.MaxPayload+1), true},
		{"invalid subject", "push..w", []byte("x"), true},
	}
	for _, tt := range tests {
		_, err := s.deliver(tt.subject, nil, tt.payload)
		if got := errors.Is(err, logs.ErrUndeliverable); got != tt.never {
			t.Errorf("%s: deliver error %v, undeliverable %v, want %v", tt.name, err, got, tt.never)
		}
	}
}
