package native

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/wire"
)

// testDurable adapts a logs manager to broker.Durable (server has the real
// adapter).
type testDurable struct{ m *logs.Manager }

func (d testDurable) Matches(subject []byte) bool { return d.m.Matches(string(subject)) }

func (d testDurable) Append(ctx context.Context, subject, headers, payload []byte) (uint64, bool, error) {
	id := ""
	hs, _ := wire.ParseHeaders(headers)
	for _, h := range hs {
		if h.Key == wire.MsgIDHeader {
			id = h.Value
		}
	}
	res, err := d.m.Append(ctx, string(subject), headers, payload, id)
	if err != nil || len(res) == 0 {
		return 0, false, err
	}
	return res[0].Seq, res[0].Dup, nil
}

// logServer is a gateway with durable logs in dir; stop shuts it down.
type logServer struct {
	addr string
	stop func()
}

func startLogServer(t *testing.T, dir string) *logServer {
	t.Helper()
	m, err := logs.Open(logs.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b := broker.New(broker.Config{Durable: testDurable{m}})
	m.SetDeliver(func(subj string, headers, payload []byte) (int, error) {
		return b.Publish(nil, &broker.Message{Subject: []byte(subj), Headers: headers, Payload: payload}, broker.Target{})
	})
	cfg := testConfig()
	cfg.Logs = m
	g := New(b, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
	}
	t.Cleanup(stop)
	return &logServer{addr: ln.Addr().String(), stop: stop}
}

// logReq sends a LOG frame and returns the RESULT body decoded into out,
// or the ERR.
func (c *rawClient) logReq(ref uint64, action wire.LogAction, body any, out any) *wire.Err {
	c.t.Helper()
	js, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write((&wire.Log{Ref: ref, Action: action, Body: js}).Append(nil))
	for {
		switch f := c.next().(type) {
		case nil:
			c.t.Fatalf("connection ended waiting for the answer to LOG %v", action)
		case *wire.Result:
			if f.Ref != ref {
				c.t.Fatalf("RESULT ref %d, want %d", f.Ref, ref)
			}
			if out != nil {
				if err := json.Unmarshal(f.Body, out); err != nil {
					c.t.Fatalf("RESULT %s: %v", f.Body, err)
				}
			}
			return nil
		case *wire.Err:
			e := *f
			return &e
		}
	}
}

func (c *rawClient) mustLog(ref uint64, action wire.LogAction, body any, out any) {
	c.t.Helper()
	if e := c.logReq(ref, action, body, out); e != nil {
		c.t.Fatalf("LOG %v: ERR %d %s", action, e.Code, e.Message)
	}
}

// pubOk publishes with a ref and returns the OK.
func (c *rawClient) pubOk(ref uint64, subj, payload, msgID string) wire.Ok {
	c.t.Helper()
	var hdr []byte
	if msgID != "" {
		hdr = wire.AppendHeaders(nil, []wire.HeaderField{{Key: wire.MsgIDHeader, Value: msgID}})
	}
	c.write((&wire.Pub{Ref: ref, Subject: []byte(subj), Headers: hdr, Payload: []byte(payload)}).Append(nil))
	for {
		switch f := c.next().(type) {
		case nil:
			c.t.Fatal("connection ended waiting for OK")
		case *wire.Ok:
			return *f
		case *wire.Err:
			c.t.Fatalf("PUB %s: ERR %d %s", subj, f.Code, f.Message)
		}
	}
}

func TestLogsOverTheWire(t *testing.T) {
	dir := t.TempDir()
	srv := startLogServer(t, dir)
	c := connectRaw(t, srv.addr, "p")
	sub := connectRaw(t, srv.addr, "s")
	sub.write((&wire.Sub{Ref: 1, SID: 1, Pattern: []byte("orders.>")}).Append(nil))
	if _, ok := sub.next().(*wire.Ok); !ok {
		t.Fatal("SUB not acknowledged")
	}

	var info LogInfoJSON
	c.mustLog(1, wire.LogCreate, logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, DedupeWindow: time.Minute}, &info)
	if info.Config.Name != "orders" || info.Config.Storage != "file" || info.State.LastSeq != 0 {
		t.Fatalf("create answered %+v", info)
	}
	if e := c.logReq(2, wire.LogCreate, logs.LogConfig{Name: "orders", Subjects: []string{"x"}}, nil); e == nil || e.Code != wire.CodeLogExists {
		t.Fatalf("second create = %+v, want CodeLogExists", e)
	}
	if e := c.logReq(3, wire.LogCreate, map[string]any{"name": "bad name", "subjects": []string{"x"}}, nil); e == nil || e.Code != wire.CodeLogInvalid {
		t.Fatalf("invalid create = %+v, want CodeLogInvalid", e)
	}

	for i, id := range []string{"a", "b", "c"} {
		ok := c.pubOk(uint64(10+i), "orders.eu", "order-"+id, id)
		if ok.Seq != uint64(i+1) || ok.Count != 1 {
			t.Fatalf("PUB %d: OK %+v, want seq %d count 1", i, ok, i+1)
		}
	}
	if ok := c.pubOk(13, "orders.eu", "order-b again", "b"); ok.Seq != 2 || ok.Count != 0 {
		t.Fatalf("duplicate PUB: OK %+v, want seq 2 count 0", ok)
	}
	if ok := c.pubOk(14, "other", "x", ""); ok.Seq != 0 {
		t.Fatalf("uncaptured PUB: OK %+v, want seq 0", ok)
	}
	for i := range 3 { // live delivery: the three originals, not the duplicate
		m, ok := sub.next().(*wire.Msg)
		if !ok || string(m.Payload) != "order-"+string(rune('a'+i)) {
			t.Fatalf("live message %d = %#v", i, m)
		}
	}

	var f FetchJSON
	c.mustLog(20, wire.LogFetch, map[string]any{"log": "orders", "start": "first", "ack": "none"}, &f)
	if len(f.Records) != 3 || f.Consumer != "" {
		t.Fatalf("ephemeral fetch = %+v", f)
	}
	for i, r := range f.Records {
		if r.Seq != uint64(i+1) || r.Subject != "orders.eu" || string(r.Payload) != "order-"+string(rune('a'+i)) || r.Deliveries != 1 {
			t.Fatalf("record %d = %+v", i, r)
		}
		if hs, err := wire.ParseHeaders(r.Headers); err != nil || len(hs) != 1 || hs[0].Value != string(rune('a'+i)) {
			t.Fatalf("record %d headers = %v, %v", i, hs, err)
		}
	}

	durable := map[string]any{"log": "orders", "consumer": "billing", "ack": "each", "ack_wait_ms": 3600000, "max": 2}
	c.mustLog(21, wire.LogFetch, durable, &f)
	if len(f.Records) != 2 || f.Consumer != "billing" || f.Records[0].Seq != 1 {
		t.Fatalf("durable fetch = %+v", f)
	}
	c.mustLog(22, wire.LogAck, map[string]any{"log": "orders", "consumer": "billing", "seq": 1}, nil)

	var list []LogInfoJSON
	c.mustLog(23, wire.LogList, struct{}{}, &list)
	if len(list) != 1 || list[0].State.LastSeq != 3 || len(list[0].Consumers) != 1 ||
		list[0].Consumers[0].Pending != 1 || list[0].Consumers[0].AckFloor != 1 {
		t.Fatalf("list = %+v", list)
	}

	if e := c.logReq(24, wire.LogInfo, map[string]any{"name": "nope"}, nil); e == nil || e.Code != wire.CodeLogNotFound {
		t.Fatalf("info of an unknown log = %+v, want CodeLogNotFound", e)
	}
	if e := c.logReq(25, wire.LogFetch, map[string]any{"log": "nope"}, nil); e == nil || e.Code != wire.CodeLogNotFound {
		t.Fatalf("fetch of an unknown log = %+v, want CodeLogNotFound", e)
	}
	if e := c.logReq(26, wire.LogAck, map[string]any{"log": "orders", "consumer": "nobody", "seq": 1}, nil); e == nil || e.Code != wire.CodeLogNotFound {
		t.Fatalf("ack on an unknown consumer = %+v, want CodeLogNotFound", e)
	}
	if e := c.logReq(27, wire.LogFetch, map[string]any{"log": "orders", "start": "yesterday"}, nil); e == nil || e.Code != wire.CodeLogInvalid {
		t.Fatalf("bad start = %+v, want CodeLogInvalid", e)
	}
	if e := c.logReq(28, wire.LogInfo, map[string]any{"nmae": "orders"}, nil); e == nil || e.Code != wire.CodeLogInvalid {
		t.Fatalf("unknown field = %+v, want CodeLogInvalid", e)
	}

	// Restart: the records, the log and the consumer's position survive.
	srv.stop()
	srv = startLogServer(t, dir)
	c = connectRaw(t, srv.addr, "p")
	c.mustLog(30, wire.LogFetch, durable, &f)
	if len(f.Records) != 2 || f.Records[0].Seq != 2 || f.Records[0].Deliveries != 2 || f.Records[1].Seq != 3 || f.Records[1].Deliveries != 1 {
		t.Fatalf("fetch after restart = %+v, want seq 2 (redelivered) and 3", f)
	}
	if ok := c.pubOk(31, "orders.us", "d", ""); ok.Seq != 4 {
		t.Fatalf("PUB after restart: OK %+v, want seq 4", ok)
	}
	if ok := c.pubOk(32, "orders.eu", "dup", "a"); ok.Seq != 1 || ok.Count != 0 {
		t.Fatalf("duplicate after restart: OK %+v, want seq 1 (dedupe window reloaded)", ok)
	}
	c.mustLog(33, wire.LogAckUpTo, map[string]any{"log": "orders", "consumer": "billing", "seq": 3}, nil)
	c.mustLog(34, wire.LogInfo, map[string]any{"name": "orders"}, &info)
	if info.State.LastSeq != 4 || info.Consumers[0].AckFloor != 3 || info.Consumers[0].Pending != 0 {
		t.Fatalf("info = %+v", info)
	}

	c.mustLog(35, wire.LogDelete, map[string]any{"name": "orders"}, nil)
	if e := c.logReq(36, wire.LogDelete, map[string]any{"name": "orders"}, nil); e == nil || e.Code != wire.CodeLogNotFound {
		t.Fatalf("second delete = %+v, want CodeLogNotFound", e)
	}
	if ok := c.pubOk(37, "orders.eu", "x", ""); ok.Seq != 0 {
		t.Fatalf("PUB after delete: OK %+v, want seq 0", ok)
	}
}

func TestLogFetchWaits(t *testing.T) {
	srv := startLogServer(t, "")
	c := connectRaw(t, srv.addr, "p")
	c.mustLog(1, wire.LogCreate, logs.LogConfig{Name: "ev", Subjects: []string{"ev.*"}}, nil)
	js, _ := json.Marshal(map[string]any{"log": "ev", "start": "new", "wait_ms": 5000})
	c.write((&wire.Log{Ref: 2, Action: wire.LogFetch, Body: js}).Append(nil))
	// The fetch waits on its own goroutine: the connection still serves.
	c.write((&wire.Pub{Ref: 3, Subject: []byte("ev.x"), Payload: []byte("hello")}).Append(nil))
	gotOk, gotResult := false, false
	for !gotOk || !gotResult {
		switch f := c.next().(type) {
		case *wire.Ok:
			if f.Ref != 3 || f.Seq != 1 {
				t.Fatalf("OK %+v, want ref 3 seq 1", f)
			}
			gotOk = true
		case *wire.Result:
			var fj FetchJSON
			if err := json.Unmarshal(f.Body, &fj); err != nil || f.Ref != 2 || len(fj.Records) != 1 || string(fj.Records[0].Payload) != "hello" {
				t.Fatalf("fetch answered ref %d %s (%v)", f.Ref, f.Body, err)
			}
			gotResult = true
		default:
			t.Fatalf("unexpected %#v", f)
		}
	}
}

func TestLogWithoutLogs(t *testing.T) {
	_, _, addr := startGateway(t, testConfig())
	c := connectRaw(t, addr, "p")
	if e := c.logReq(1, wire.LogList, struct{}{}, nil); e == nil || e.Code != wire.CodeNotSupported {
		t.Fatalf("LOG without logs = %+v, want CodeNotSupported", e)
	}
}

// nextMsg reads frames until a MSG and returns its Ferry-Seq header.
func (c *rawClient) nextMsg() (seq string, m *wire.Msg) {
	c.t.Helper()
	for {
		switch f := c.next().(type) {
		case nil:
			c.t.Fatal("connection ended waiting for MSG")
		case *wire.Msg:
			hs, err := wire.ParseHeaders(f.Headers)
			if err != nil {
				c.t.Fatal(err)
			}
			for _, h := range hs {
				if h.Key == logs.HeaderSeq {
					seq = h.Value
				}
			}
			return seq, f
		}
	}
}

func TestLogPushOverTheWire(t *testing.T) {
	srv := startLogServer(t, "")
	ctl := connectRaw(t, srv.addr, "ctl")
	sub := connectRaw(t, srv.addr, "sub")
	sub.sub(1, "push.a")
	ctl.mustLog(1, wire.LogCreate, logs.LogConfig{Name: "ev", Subjects: []string{"ev.*"}}, nil)
	var cj ConsumerJSON
	ctl.mustLog(2, wire.LogConsume, map[string]any{"log": "ev", "consumer": "a", "deliver_subject": "push.a",
		"max_ack_pending": 2, "ack_wait_ms": 60000}, &cj)
	if cj.Name != "a" || cj.DeliverSubject != "push.a" || cj.MaxAckPending != 2 || cj.Ack != "each" {
		t.Fatalf("consume answered %+v", cj)
	}
	for i := range 3 {
		ctl.pubOk(uint64(10+i), "ev.x", "m", "")
	}
	for _, want := range []string{"1", "2"} {
		if seq, m := sub.nextMsg(); seq != want || string(m.Subject) != "push.a" || string(m.Payload) != "m" {
			t.Fatalf("push %s on %s, want seq %s", seq, m.Subject, want)
		}
	}
	var info LogInfoJSON
	ctl.mustLog(20, wire.LogInfo, map[string]string{"name": "ev"}, &info)
	if c := info.Consumers[0]; c.Delivered != 2 || c.Pending != 2 {
		t.Fatalf("at the cap: %+v", c)
	}
	ctl.mustLog(21, wire.LogAck, map[string]any{"log": "ev", "consumer": "a", "seq": 1}, nil)
	if seq, _ := sub.nextMsg(); seq != "3" {
		t.Fatalf("after the ack: seq %s, want 3", seq)
	}
	// Opening it again with the same config is fine; a pull fetch on it is not.
	ctl.mustLog(22, wire.LogConsume, map[string]any{"log": "ev", "consumer": "a", "deliver_subject": "push.a",
		"max_ack_pending": 2, "ack_wait_ms": 60000}, nil)
	if e := ctl.logReq(23, wire.LogFetch, map[string]any{"log": "ev", "consumer": "a"}, nil); e == nil || e.Code != wire.CodeLogExists {
		t.Fatalf("fetch on a push consumer = %+v, want CodeLogExists", e)
	}
	ctl.mustLog(24, wire.LogDeleteConsumer, map[string]string{"log": "ev", "consumer": "a"}, nil)
	ctl.mustLog(25, wire.LogInfo, map[string]string{"name": "ev"}, &info)
	if len(info.Consumers) != 0 {
		t.Fatalf("consumers after delete: %+v", info.Consumers)
	}
	if e := ctl.logReq(26, wire.LogDeleteConsumer, map[string]string{"log": "ev", "consumer": "a"}, nil); e == nil || e.Code != wire.CodeLogNotFound {
		t.Fatalf("second delete = %+v, want CodeLogNotFound", e)
	}
}

func TestLogConsumeErrors(t *testing.T) {
	srv := startLogServer(t, "")
	c := connectRaw(t, srv.addr, "p")
	c.mustLog(1, wire.LogCreate, logs.LogConfig{Name: "ev", Subjects: []string{"ev.*"}}, nil)
	for i, tc := range []struct {
		name string
		body map[string]any
		code wire.Code
	}{
		{"no name", map[string]any{"log": "ev", "deliver_subject": "d"}, wire.CodeLogInvalid},
		{"no deliver subject", map[string]any{"log": "ev", "consumer": "a"}, wire.CodeLogInvalid},
		{"log captures it", map[string]any{"log": "ev", "consumer": "a", "deliver_subject": "ev.d"}, wire.CodeLogInvalid},
		{"no log", map[string]any{"log": "nope", "consumer": "a", "deliver_subject": "d"}, wire.CodeLogNotFound},
		{"unknown field", map[string]any{"log": "ev", "consumer": "a", "deliver_subject": "d", "x": 1}, wire.CodeLogInvalid},
		{"negative cap", map[string]any{"log": "ev", "consumer": "a", "deliver_subject": "d", "max_ack_pending": -1}, wire.CodeLogInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e := c.logReq(uint64(10+i), wire.LogConsume, tc.body, nil); e == nil || e.Code != tc.code {
				t.Fatalf("got %+v, want code %d", e, tc.code)
			}
		})
	}
}
