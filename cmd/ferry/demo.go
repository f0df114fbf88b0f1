package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/server"
	"github.com/spf13/cobra"
)

type demoCmd struct {
	app         *app
	server      string
	json        bool
	stepTimeout time.Duration

	run string // this run's tag: every demo endpoint carries the label demo=<run>
}

func newDemoCmd(a *app) *cobra.Command {
	c := &demoCmd{app: a}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show the eight patterns with real endpoints and messages",
		Long: `Start an embedded broker on a free loopback port (or use --server) and run
each of the eight patterns with real endpoints and real messages:
publish-subscribe, fan-out, unicast, broadcast, multicast, anycast, a
unidirectional stream and a bidirectional channel. Each step says what it
does, then what was delivered, to whom, with the measured figures.

Every step checks that exactly what it announced was delivered and has its
own time limit (--step-timeout), so the demo always ends in bounded time.
Exit status 0 when every step delivered what it said; a failed step prints
✗ with what happened, and the command exits 1.

With --json, print one JSON object per step: step, pattern, scenario, ok,
detail and millis.

Against a shared broker (--server), the demo's endpoints carry the label
demo=<run> and the targeted sends are narrowed to them; their IDs (cam-7,
host-7, edge-fra, …) must be free on that broker.`,
		Example: `  ferry demo
  ferry demo --json
  ferry demo --server ferry://127.0.0.1:7420`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.stepTimeout <= 0 {
				return usageErrorf("--step-timeout must be positive")
			}
			return c.runDemo(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&c.server, "server", "s", "", "broker URL (default: start an embedded broker)")
	f.BoolVar(&c.json, "json", false, "print one JSON object per step")
	f.DurationVar(&c.stepTimeout, "step-timeout", 3*time.Second, "time limit of each step")
	return cmd
}

// demoResult is one step's outcome, also its --json form.
type demoResult struct {
	Step     int     `json:"step"`
	Pattern  string  `json:"pattern"`
	Scenario string  `json:"scenario"`
	OK       bool    `json:"ok"`
	Detail   string  `json:"detail"`
	Millis   float64 `json:"millis"`
}

// demoStep is one pattern of the demo: what it announces and the function
// that runs it, returning what was delivered or what went wrong.
type demoStep struct {
	pattern  string
	scenario string
	run      func(ctx context.Context, e *demoEnv) (string, error)
}

func (c *demoCmd) runDemo(ctx context.Context) error {
	var tag [4]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	c.run = hex.EncodeToString(tag[:])

	url := c.server
	if url == "" {
		dir, err := os.MkdirTemp("", "ferry-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer os.RemoveAll(dir)
		srv, err := server.New(server.Options{Listen: "127.0.0.1:0", DataDir: dir, Name: "ferry-demo"})
		if err == nil {
			err = srv.Start()
		}
		if err != nil {
			return fmt.Errorf("start the embedded broker: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		url = srv.URL()
		if !c.json {
			fmt.Fprintf(c.app.stdout, "broker: embedded at %s\n", url)
		}
	} else if !c.json {
		fmt.Fprintf(c.app.stdout, "broker: %s\n", url)
	}

	steps := c.steps()
	failed := 0
	for i, s := range steps {
		if !c.json {
			fmt.Fprintf(c.app.stdout, "%d/%d %s: %s … ", i+1, len(steps), s.pattern, s.scenario)
		}
		sctx, cancel := context.WithTimeout(ctx, c.stepTimeout)
		env := &demoEnv{url: url, run: c.run, timeout: c.stepTimeout}
		start := time.Now()
		detail, err := s.run(sctx, env)
		elapsed := time.Since(start)
		env.closeAll()
		cancel()
		if ctx.Err() != nil {
			if !c.json {
				fmt.Fprintln(c.app.stdout, "✗ interrupted")
			}
			return errInterrupted
		}
		r := demoResult{
			Step: i + 1, Pattern: s.pattern, Scenario: s.scenario, OK: err == nil, Detail: detail,
			Millis: math.Round(float64(elapsed.Microseconds())/100) / 10,
		}
		if err != nil {
			failed++
			r.Detail = errorText(err)
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ferry.ErrTimeout) {
				r.Detail += fmt.Sprintf(" (step limit %s)", c.stepTimeout)
			}
		}
		if err := c.print(r); err != nil {
			return err
		}
	}
	if failed > 0 {
		if !c.json {
			fmt.Fprintf(c.app.stdout, "%d of %d patterns did not deliver what they said.\n", failed, len(steps))
		}
		return fmt.Errorf("demo: %d of %d patterns failed", failed, len(steps))
	}
	if !c.json {
		fmt.Fprintf(c.app.stdout, "all %d patterns delivered what they said.\n", len(steps))
	}
	return nil
}

func (c *demoCmd) print(r demoResult) error {
	var err error
	if c.json {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if jerr := enc.Encode(r); jerr != nil {
			return fmt.Errorf("encode JSON: %w", jerr)
		}
		_, err = c.app.stdout.Write(b.Bytes())
	} else {
		mark := "✓"
		if !r.OK {
			mark = "✗"
		}
		_, err = fmt.Fprintf(c.app.stdout, "%s %s\n", mark, r.Detail)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// demoEnv holds the connections of one step, closed when it ends.
type demoEnv struct {
	url     string
	run     string
	timeout time.Duration

	mu    sync.Mutex
	conns []*ferry.Conn
}

// connect opens an endpoint with the given ID, labelled demo=<run>.
func (e *demoEnv) connect(id string, opts ...ferry.Option) (*ferry.Conn, error) {
	all := []ferry.Option{
		ferry.WithID(id), ferry.WithName("ferry demo " + id), ferry.WithTimeout(e.timeout),
		ferry.WithReconnect(false), ferry.WithErrorHandler(func(error) {}),
		ferry.WithLabels("demo", e.run),
	}
	nc, err := ferry.Connect(e.url, append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("connect %s to %s: %w", id, e.url, err)
	}
	e.mu.Lock()
	e.conns = append(e.conns, nc)
	e.mu.Unlock()
	return nc, nil
}

func (e *demoEnv) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, nc := range e.conns {
		nc.Close()
	}
	e.conns = nil
}

// sel narrows a selector to this run's endpoints.
func (e *demoEnv) sel(s string) string {
	if s == "" {
		return "demo=" + e.run
	}
	return s + ",demo=" + e.run
}

// inbox collects the messages an endpoint receives.
type inbox struct {
	id string
	ch chan *ferry.Msg
}

func newInbox(id string) *inbox { return &inbox{id: id, ch: make(chan *ferry.Msg, 1024)} }

func (b *inbox) put(m *ferry.Msg) { b.ch <- m }

// until returns the messages received before the one on subject end. Since
// one sender's messages reach each receiver in order, a marker sent last
// proves nothing else is on its way.
func (b *inbox) until(ctx context.Context, end string) ([]*ferry.Msg, error) {
	var got []*ferry.Msg
	for {
		select {
		case m := <-b.ch:
			if m.Subject == end {
				return got, nil
			}
			got = append(got, m)
		case <-ctx.Done():
			return got, fmt.Errorf("%s: waiting for %s: %w", b.id, end, ctx.Err())
		}
	}
}

// flushAll waits until the server has processed each connection's
// subscriptions, so nothing sent afterwards can miss them.
func flushAll(ctx context.Context, ncs ...*ferry.Conn) error {
	for _, nc := range ncs {
		if err := nc.Flush(ctx); err != nil {
			return fmt.Errorf("flush %s: %w", nc.ID(), err)
		}
	}
	return nil
}

// names joins endpoint IDs: "a, b and c" reads worse in a list of figures,
// so plain commas.
func names(ids []string) string { return strings.Join(ids, ", ") }

func (c *demoCmd) steps() []demoStep {
	return []demoStep{
		{"publish-subscribe", "a subscriber on orders.>; orders.eu.created and invoices.eu.created are published", demoPubSub},
		{"fan-out", "3 subscribers on news.*; one publish to news.today", demoFanOut},
		{"unicast", "send cmd.reboot to @cam-7 among 3 cameras", demoUnicast},
		{"broadcast", `"who has 10.0.0.7?" to 10 hosts`, demoBroadcast},
		{"multicast", "3 of 5 TVs join channel.7; a frame to #channel.7, then cmd.snapshot to cameras on subnet=10.0.1.0/24", demoMulticast},
		{"anycast", "edges in Frankfurt, Virginia and Singapore; a client in Paris asks for content, then Frankfurt goes away", demoAnycast},
		{"unidirectional stream", "a phone streams 200 GPS fixes on gps.phone1 to 2 dashboards", demoStream},
		{"bidirectional channel", "a client and an echo service exchange 5 messages each way", demoChannel},
	}
}

func demoPubSub(ctx context.Context, e *demoEnv) (string, error) {
	sub, err := e.connect("subscriber")
	if err != nil {
		return "", err
	}
	in := newInbox("subscriber")
	if _, err := sub.Subscribe("orders.>", in.put); err != nil {
		return "", err
	}
	if err := flushAll(ctx, sub); err != nil {
		return "", err
	}
	pub, err := e.connect("publisher")
	if err != nil {
		return "", err
	}
	for _, p := range [][2]string{{"orders.eu.created", "order 1"}, {"invoices.eu.created", "invoice 1"}, {"orders.end", ""}} {
		if err := pub.Publish(p[0], []byte(p[1])); err != nil {
			return "", err
		}
	}
	got, err := in.until(ctx, "orders.end")
	if err != nil {
		return "", err
	}
	if len(got) != 1 || got[0].Subject != "orders.eu.created" || string(got[0].Data) != "order 1" {
		return "", fmt.Errorf("subscriber received %s, want only \"order 1\" on orders.eu.created", describe(got))
	}
	return fmt.Sprintf("received %q on %s from %s; not invoices.eu.created", got[0].Data, got[0].Subject, got[0].From), nil
}

func demoFanOut(ctx context.Context, e *demoEnv) (string, error) {
	ids := []string{"sub-1", "sub-2", "sub-3"}
	var ins []*inbox
	for _, id := range ids {
		nc, err := e.connect(id)
		if err != nil {
			return "", err
		}
		in := newInbox(id)
		if _, err := nc.Subscribe("news.*", in.put); err != nil {
			return "", err
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
		ins = append(ins, in)
	}
	pub, err := e.connect("newsroom")
	if err != nil {
		return "", err
	}
	for _, subj := range []string{"news.today", "news.end"} {
		if err := pub.Publish(subj, []byte("headline")); err != nil {
			return "", err
		}
	}
	for _, in := range ins {
		got, err := in.until(ctx, "news.end")
		if err != nil {
			return "", err
		}
		if len(got) != 1 || got[0].Subject != "news.today" {
			return "", fmt.Errorf("%s received %s, want news.today once", in.id, describe(got))
		}
	}
	return fmt.Sprintf("each of %s received %q once", names(ids), "headline"), nil
}

func demoUnicast(ctx context.Context, e *demoEnv) (string, error) {
	ids := []string{"cam-6", "cam-7", "cam-8"}
	var ins []*inbox
	for _, id := range ids {
		nc, err := e.connect(id, ferry.WithLabels("type", "camera"))
		if err != nil {
			return "", err
		}
		in := newInbox(id)
		if _, err := nc.Handle("cmd.>", in.put); err != nil {
			return "", err
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
		ins = append(ins, in)
	}
	ops, err := e.connect("ops")
	if err != nil {
		return "", err
	}
	if err := ops.Send(ctx, "cam-7", "cmd.reboot", []byte("now")); err != nil {
		return "", err
	}
	for _, id := range ids {
		if err := ops.Send(ctx, id, "cmd.end", nil); err != nil {
			return "", err
		}
	}
	var from string
	for _, in := range ins {
		got, err := in.until(ctx, "cmd.end")
		if err != nil {
			return "", err
		}
		want := 0
		if in.id == "cam-7" {
			want = 1
		}
		if len(got) != want || (want == 1 && got[0].Subject != "cmd.reboot") {
			return "", fmt.Errorf("%s received %s, want cmd.reboot %d time(s)", in.id, describe(got), want)
		}
		if want == 1 {
			from = got[0].From
		}
	}
	if from != "ops" {
		return "", fmt.Errorf("cam-7 received it from %q, want ops", from)
	}
	return "only cam-7 received it (from ops); cam-6 and cam-8 nothing", nil
}

func demoBroadcast(ctx context.Context, e *demoEnv) (string, error) {
	const n, holder = 10, "10.0.0.7"
	for i := 1; i <= n; i++ {
		id, ip := fmt.Sprintf("host-%d", i), fmt.Sprintf("10.0.0.%d", i)
		nc, err := e.connect(id, ferry.WithLabels("ip", ip))
		if err != nil {
			return "", err
		}
		if _, err := nc.Respond("arp.who-has", func(m *ferry.Msg) []byte {
			if string(m.Data) != ip {
				return nil // declines
			}
			return []byte(id + " is at " + ip)
		}); err != nil {
			return "", err
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
	}
	asker, err := e.connect("asker")
	if err != nil {
		return "", err
	}
	start := time.Now()
	g, err := asker.RequestMany(ctx, &ferry.Msg{
		Subject: "arp.who-has", Data: []byte(holder), Target: ferry.Broadcast().Where(e.sel("")),
	})
	took := time.Since(start)
	if err != nil {
		return "", err
	}
	switch {
	case !g.Complete:
		return "", fmt.Errorf("not complete: reached %d, %d replies, %d declined", g.Reached, len(g.Replies), g.Declined)
	case g.Reached != n || len(g.Replies) != 1 || g.Declined != n-1:
		return "", fmt.Errorf("reached %d, %d replies, %d declined; want %d, 1, %d", g.Reached, len(g.Replies), g.Declined, n, n-1)
	case g.Replies[0].From != "host-7":
		return "", fmt.Errorf("answered by %s, want host-7", g.Replies[0].From)
	}
	return fmt.Sprintf("%s answered %q; %d declined; done in %s (no timeout)",
		g.Replies[0].From, g.Replies[0].Data, g.Declined, roundDuration(took)), nil
}

func demoMulticast(ctx context.Context, e *demoEnv) (string, error) {
	const group = "channel.7"
	tvs := []string{"tv-1", "tv-2", "tv-3", "tv-4", "tv-5"}
	members := tvs[:3]
	var ins []*inbox
	for _, id := range tvs {
		nc, err := e.connect(id, ferry.WithLabels("type", "tv"))
		if err != nil {
			return "", err
		}
		in := newInbox(id)
		// One subscription for the group's frames and the marker sent to
		// each TV: a subscription's handler sees its messages in order.
		if _, err := nc.HandleGroup("video.>", in.put, ferry.WithScope(ferry.ScopeGroup|ferry.ScopeInbox)); err != nil {
			return "", err
		}
		if slices.Contains(members, id) {
			if err := nc.Join(ctx, group); err != nil {
				return "", err
			}
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
		ins = append(ins, in)
	}
	src, err := e.connect("source")
	if err != nil {
		return "", err
	}
	reached, err := src.SendMsg(ctx, &ferry.Msg{Subject: "video.frame", Data: []byte("frame 1"), Target: ferry.Multicast(group)})
	if err != nil {
		return "", err
	}
	if reached != len(members) {
		return "", fmt.Errorf("#%s reached %d endpoints, want %d", group, reached, len(members))
	}
	for _, id := range tvs {
		if err := src.Send(ctx, id, "video.end", nil); err != nil {
			return "", err
		}
	}
	var gotFrame []string
	for _, in := range ins {
		got, err := in.until(ctx, "video.end")
		if err != nil {
			return "", err
		}
		want := 0
		if slices.Contains(members, in.id) {
			want = 1
		}
		if len(got) != want || (want == 1 && got[0].Subject != "video.frame") {
			return "", fmt.Errorf("%s received %s, want the frame %d time(s)", in.id, describe(got), want)
		}
		if want == 1 {
			gotFrame = append(gotFrame, in.id)
		}
	}

	// By label selector, at send time.
	cams := []struct{ id, ip string }{{"cam-1", "10.0.1.17"}, {"cam-2", "10.0.1.42"}, {"cam-3", "10.0.2.5"}}
	var camIns []*inbox
	for _, cam := range cams {
		nc, err := e.connect(cam.id, ferry.WithLabels("type", "camera", "ip", cam.ip))
		if err != nil {
			return "", err
		}
		in := newInbox(cam.id)
		if _, err := nc.Handle("cmd.>", in.put); err != nil {
			return "", err
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
		camIns = append(camIns, in)
	}
	sel := "type=camera,subnet=10.0.1.0/24"
	reached, err = src.SendMsg(ctx, &ferry.Msg{Subject: "cmd.snapshot", Data: []byte("now"), Target: ferry.MulticastWhere(e.sel(sel))})
	if err != nil {
		return "", err
	}
	if reached != 2 {
		return "", fmt.Errorf("selector %s reached %d endpoints, want 2", sel, reached)
	}
	for _, cam := range cams {
		if err := src.Send(ctx, cam.id, "cmd.end", nil); err != nil {
			return "", err
		}
	}
	var snapped []string
	for i, in := range camIns {
		got, err := in.until(ctx, "cmd.end")
		if err != nil {
			return "", err
		}
		want := 0
		if i < 2 {
			want = 1
		}
		if len(got) != want || (want == 1 && got[0].Subject != "cmd.snapshot") {
			return "", fmt.Errorf("%s (ip %s) received %s, want cmd.snapshot %d time(s)", in.id, cams[i].ip, describe(got), want)
		}
		if want == 1 {
			snapped = append(snapped, in.id)
		}
	}
	return fmt.Sprintf("%s received the frame, tv-4 and tv-5 did not; by selector %s: %s (not cam-3 on 10.0.2.5)",
		names(gotFrame), sel, names(snapped)), nil
}

// demoEdge is a content edge of the anycast step.
type demoEdge struct {
	id, city string
	lat, lon float64
}

func demoAnycast(ctx context.Context, e *demoEnv) (string, error) {
	edges := []demoEdge{
		{"edge-fra", "Frankfurt", 50.1109, 8.6821},
		{"edge-iad", "Virginia", 39.0438, -77.4874},
		{"edge-sin", "Singapore", 1.3521, 103.8198},
	}
	const parisLat, parisLon = 48.8566, 2.3522
	conns := map[string]*ferry.Conn{}
	for _, ed := range edges {
		nc, err := e.connect(ed.id, ferry.WithLabels("type", "edge"), ferry.WithLocation(ed.lat, ed.lon))
		if err != nil {
			return "", err
		}
		id := ed.id
		if _, err := nc.Respond("content.get", func(m *ferry.Msg) []byte {
			return []byte(string(m.Data) + " from " + id)
		}); err != nil {
			return "", err
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
		conns[ed.id] = nc
	}
	client, err := e.connect("paris", ferry.WithLocation(parisLat, parisLon))
	if err != nil {
		return "", err
	}
	ask := func(want string) (string, error) {
		r, err := client.RequestMsg(ctx, &ferry.Msg{
			Subject: "content.get", Data: []byte("/index.html"),
			Target: ferry.Anycast(ferry.Nearest).Where(e.sel("type=edge")).AttemptTimeout(500 * time.Millisecond),
		})
		if err != nil {
			return "", err
		}
		if r.From != want {
			return "", fmt.Errorf("answered by %s, want %s", r.From, want)
		}
		for _, ed := range edges {
			if ed.id == want {
				return fmt.Sprintf("answered by %s (%s km)", want, formatKm(distanceKm(parisLat, parisLon, ed.lat, ed.lon))), nil
			}
		}
		return want, nil
	}
	first, err := ask("edge-fra")
	if err != nil {
		return "", err
	}
	conns["edge-fra"].Close() // Frankfurt goes away
	second, err := ask("edge-iad")
	if err != nil {
		return "", fmt.Errorf("%s; after Frankfurt went away: %w", first, err)
	}
	return first + "; Frankfurt gone: " + second, nil
}

func demoStream(ctx context.Context, e *demoEnv) (string, error) {
	const fixes = 200
	dashes := []string{"dashboard-1", "dashboard-2"}
	type outcome struct {
		id  string
		n   int
		err error
	}
	results := make(chan outcome, len(dashes))
	for _, id := range dashes {
		nc, err := e.connect(id)
		if err != nil {
			return "", err
		}
		if _, err := nc.HandleStreams("gps.>", func(in *ferry.IncomingStream) {
			n := 0
			for {
				m, err := in.Recv(ctx)
				if errors.Is(err, io.EOF) {
					results <- outcome{id: id, n: n}
					return
				}
				if err != nil {
					results <- outcome{id: id, n: n, err: err}
					return
				}
				n++
				if want := fmt.Sprintf("fix %d", n); m.Seq != uint64(n) || string(m.Data) != want {
					results <- outcome{id: id, n: n, err: fmt.Errorf("message %d was seq %d %q, want seq %d %q", n, m.Seq, m.Data, n, want)}
					return
				}
			}
		}); err != nil {
			return "", err
		}
		if err := flushAll(ctx, nc); err != nil {
			return "", err
		}
	}
	phone, err := e.connect("phone-1")
	if err != nil {
		return "", err
	}
	st, err := phone.OpenStream(ctx, "gps.phone1", ferry.Target{})
	if err != nil {
		return "", err
	}
	if st.Receivers() != len(dashes) {
		st.Abort("wrong receivers")
		return "", fmt.Errorf("stream reached %d receivers, want %d", st.Receivers(), len(dashes))
	}
	start := time.Now()
	for i := 1; i <= fixes; i++ {
		if err := st.Send(ctx, fmt.Appendf(nil, "fix %d", i)); err != nil {
			return "", fmt.Errorf("send fix %d: %w", i, err)
		}
	}
	if err := st.Close(); err != nil {
		return "", fmt.Errorf("close the stream: %w", err)
	}
	for range dashes {
		select {
		case r := <-results:
			if r.err != nil {
				return "", fmt.Errorf("%s after %d fixes: %w", r.id, r.n, r.err)
			}
			if r.n != fixes {
				return "", fmt.Errorf("%s received %d fixes, want %d", r.id, r.n, fixes)
			}
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the dashboards: %w", ctx.Err())
		}
	}
	return fmt.Sprintf("%s each received all %d in order (seq 1…%d) in %s", names(dashes), fixes, fixes, roundDuration(time.Since(start))), nil
}

func demoChannel(ctx context.Context, e *demoEnv) (string, error) {
	const n = 5
	svc, err := e.connect("echo-1", ferry.WithLabels("svc", "echo"))
	if err != nil {
		return "", err
	}
	l, err := svc.Listen("echo")
	if err != nil {
		return "", err
	}
	if err := flushAll(ctx, svc); err != nil {
		return "", err
	}
	type outcome struct {
		echoed int
		peer   string
		err    error
	}
	served := make(chan outcome, 1)
	go func() {
		ch, err := l.Accept(ctx)
		if err != nil {
			served <- outcome{err: fmt.Errorf("accept: %w", err)}
			return
		}
		defer ch.Close()
		echoed := 0
		for {
			m, err := ch.Recv(ctx)
			if errors.Is(err, io.EOF) {
				served <- outcome{echoed: echoed, peer: ch.Peer(), err: ch.CloseSend()}
				return
			}
			if err != nil {
				served <- outcome{echoed: echoed, err: err}
				return
			}
			if err := ch.Send(ctx, []byte(strings.ToUpper(string(m.Data)))); err != nil {
				served <- outcome{echoed: echoed, err: err}
				return
			}
			echoed++
		}
	}()
	client, err := e.connect("client-1")
	if err != nil {
		return "", err
	}
	ch, err := client.Dial(ctx, ferry.ToEndpoint("echo-1"), "echo")
	if err != nil {
		return "", err
	}
	defer ch.Close()
	for i := 1; i <= n; i++ {
		if err := ch.Send(ctx, fmt.Appendf(nil, "hello %d", i)); err != nil {
			return "", fmt.Errorf("client send %d: %w", i, err)
		}
	}
	for i := 1; i <= n; i++ {
		m, err := ch.Recv(ctx)
		if err != nil {
			return "", fmt.Errorf("client reply %d: %w", i, err)
		}
		if want := fmt.Sprintf("HELLO %d", i); string(m.Data) != want || m.Seq != uint64(i) {
			return "", fmt.Errorf("reply %d was seq %d %q, want seq %d %q", i, m.Seq, m.Data, i, want)
		}
	}
	if err := ch.CloseSend(); err != nil {
		return "", fmt.Errorf("client close-send: %w", err)
	}
	if m, err := ch.Recv(ctx); !errors.Is(err, io.EOF) {
		if err == nil {
			return "", fmt.Errorf("client got %q after the replies, want the end", m.Data)
		}
		return "", fmt.Errorf("client waiting for the end: %w", err)
	}
	var o outcome
	select {
	case o = <-served:
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the echo service: %w", ctx.Err())
	}
	if o.err != nil {
		return "", fmt.Errorf("echo service after %d: %w", o.echoed, o.err)
	}
	if o.echoed != n {
		return "", fmt.Errorf("echo service echoed %d, want %d", o.echoed, n)
	}
	return fmt.Sprintf("client-1 sent %d, %s (peer %s) echoed %d, in order; both sides closed cleanly", n, ch.Peer(), o.peer, o.echoed), nil
}

// describe lists received messages for an error.
func describe(ms []*ferry.Msg) string {
	if len(ms) == 0 {
		return "nothing"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%q on %s", m.Data, m.Subject)
	}
	return strings.Join(parts, ", ")
}

// distanceKm is the great-circle distance between two points in degrees.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// formatKm formats a distance as "479" or "6 213", thin groups like the docs.
func formatKm(km float64) string {
	s := fmt.Sprintf("%.0f", km)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// roundDuration shows a short duration with sensible precision.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
