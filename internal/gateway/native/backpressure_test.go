package native

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/stream"
	"github.com/ferrymq/ferry/internal/wire"
)

// subWith subscribes with a backpressure policy and waits for the OK.
func (c *rawClient) subWith(sid uint64, pattern string, bp uint8, limit uint64) {
	c.t.Helper()
	c.write((&wire.Sub{Ref: sid, SID: sid, Pattern: []byte(pattern), Backpressure: bp, Limit: limit}).Append(nil))
	c.ok(sid)
}

// shrinkReadBuffer makes the client's socket buffer small, so a client
// that stops reading backs the server up after little data.
func (c *rawClient) shrinkReadBuffer() {
	c.t.Helper()
	if err := c.nc.(*net.TCPConn).SetReadBuffer(32 << 10); err != nil {
		c.t.Fatal(err)
	}
}

// readFrames reads c's frames in a goroutine, with their byte fields
// copied, until the connection ends or stays silent for 10 s.
func readFrames(c *rawClient) <-chan wire.Frame {
	ch := make(chan wire.Frame, 16)
	go func() {
		defer close(ch)
		for {
			c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			op, body, err := c.r.Next()
			if err != nil {
				return
			}
			f, err := wire.Decode(op, slices.Clone(body))
			if err != nil {
				return
			}
			ch <- f
		}
	}()
	return ch
}

// recv returns the next frame from ch, failing after 5 s or at the end.
func recv(t *testing.T, ch <-chan wire.Frame) wire.Frame {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatal("connection ended")
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame within 5s")
	}
	return nil
}

// recvMsg returns the next MSG from ch, skipping other frames.
func recvMsg(t *testing.T, ch <-chan wire.Frame) *wire.Msg {
	t.Helper()
	for {
		if m, ok := recv(t, ch).(*wire.Msg); ok {
			return m
		}
	}
}

// seqMsg is the test publishers' message: a sequence number and a key in
// headers, and a payload big enough to fill socket buffers quickly.
func seqMsg(dst []byte, ref uint64, seq int, payload []byte) []byte {
	hs := []wire.HeaderField{{Key: "seq", Value: strconv.Itoa(seq)}, {Key: wire.KeyHeader, Value: fmt.Sprint("k", seq%4)}}
	return (&wire.Pub{Ref: ref, Subject: []byte("feed"), Headers: wire.AppendHeaders(nil, hs), Payload: payload}).Append(dst)
}

// header returns the last value of header key in m, if any.
func header(t *testing.T, m *wire.Msg, key string) (string, bool) {
	t.Helper()
	hs, err := wire.ParseHeaders(m.Headers)
	if err != nil {
		t.Fatalf("headers of %q: %v", m.Subject, err)
	}
	v, found := "", false
	for _, h := range hs {
		if h.Key == key {
			v, found = h.Value, true
		}
	}
	return v, found
}

func seqOf(t *testing.T, m *wire.Msg) int {
	t.Helper()
	v, _ := header(t, m, "seq")
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("seq header %q: %v", v, err)
	}
	return n
}

func droppedOf(t *testing.T, m *wire.Msg) (uint64, bool) {
	t.Helper()
	v, ok := header(t, m, wire.DroppedHeader)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s header %q: %v", wire.DroppedHeader, v, err)
	}
	return n, true
}

// pendingMsgs returns what the server holds for endpoint id, as least-loaded
// routing sees it.
func pendingMsgs(b *broker.Broker, id string) int {
	eps, _ := b.Endpoints(nil)
	for _, ep := range eps {
		if ep.ID == id {
			return ep.PendingMsgs
		}
	}
	return -1
}

// publisherWaiting reports whether a publisher waits for room on a Block
// subscription of endpoint id.
func publisherWaiting(g *Gateway, id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		c.mu.Lock()
		waiting := c.ep != nil && c.ep.ID() == id && c.room != nil
		c.mu.Unlock()
		if waiting {
			return true
		}
	}
	return false
}

// poll waits for cond for up to 5 s from a goroutine that must not call
// t.Fatal.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func TestDropPoliciesKeepTheSubscriberConnected(t *testing.T) {
	const n, batch, limit, keys = 240, 8, 8, 4
	tests := []struct {
		name  string
		bp    uint8
		check func(t *testing.T, seqs []int)
	}{
		{"drop-newest", wire.BackpressureDropNewest, func(t *testing.T, seqs []int) {
			for i, s := range seqs {
				if s != i+1 {
					t.Fatalf("received %v..., want a prefix 1..k", seqs[:i+1])
				}
			}
		}},
		{"drop-oldest", wire.BackpressureDropOldest, func(t *testing.T, seqs []int) {
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					t.Fatalf("received %d after %d, want increasing", seqs[i], seqs[i-1])
				}
			}
			if seqs[len(seqs)-1] != n {
				t.Fatalf("last received %d, want %d", seqs[len(seqs)-1], n)
			}
		}},
		{"latest-per-key", wire.BackpressureLatestPerKey, func(t *testing.T, seqs []int) {
			last := map[int]int{}
			for _, s := range seqs {
				if s <= last[s%keys] {
					t.Fatalf("key k%d: %d after %d", s%keys, s, last[s%keys])
				}
				last[s%keys] = s
			}
			for s := n - keys + 1; s <= n; s++ {
				if last[s%keys] != s {
					t.Fatalf("key k%d: last received %d, want %d", s%keys, last[s%keys], s)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, b, addr := startGateway(t, testConfig())
			slow := connectRaw(t, addr, "slow") // stops reading after SUB
			slow.shrinkReadBuffer()
			slow.subWith(1, "feed", tt.bp, limit)
			fast := connectRaw(t, addr, "fast")
			fast.sub(1, "feed")
			fastIn := readFrames(fast)
			pub := connectRaw(t, addr, "pub")
			payload := make([]byte, 64<<10) // n of them: 15 MB, past the slow reader's socket buffers
			for i := 0; i < n; i += batch {
				var buf []byte
				for s := i + 1; s <= i+batch; s++ {
					buf = seqMsg(buf, 0, s, payload)
				}
				pub.write(buf)
				for s := i + 1; s <= i+batch; s++ {
					if got := seqOf(t, recvMsg(t, fastIn)); got != s {
						t.Fatalf("fast subscriber got %d, want %d", got, s)
					}
				}
			}
			if g.Dropped() == 0 {
				t.Fatal("nothing dropped: the slow subscriber's socket never filled")
			}

			// The slow subscriber reads now; once the server holds nothing
			// for it, a PING's PONG marks the end of what it kept.
			slowIn := readFrames(slow)
			go func() {
				if !poll(func() bool { return pendingMsgs(b, "slow") == 0 }) {
					t.Error("the server still holds messages for the slow subscriber")
				}
				slow.nc.Write(wire.AppendEmpty(nil, wire.OpPing))
			}()
			var seqs []int
			var reported uint64
			for {
				f := recv(t, slowIn)
				if e, ok := f.(wire.Empty); ok && e.Op == wire.OpPong {
					break
				}
				if m, ok := f.(*wire.Msg); ok {
					seqs = append(seqs, seqOf(t, m))
					if d, ok := droppedOf(t, m); ok {
						if d <= reported {
							t.Fatalf("%s went from %d to %d", wire.DroppedHeader, reported, d)
						}
						reported = d
					}
				}
			}
			// One more message reaches both, and reports drops not yet told.
			pub.write(seqMsg(nil, 0, n+1, nil))
			if m := recvMsg(t, slowIn); seqOf(t, m) != n+1 {
				t.Fatalf("slow subscriber got %d after the drain, want %d", seqOf(t, m), n+1)
			} else if d, ok := droppedOf(t, m); ok {
				reported = d
			}
			if got := seqOf(t, recvMsg(t, fastIn)); got != n+1 {
				t.Fatalf("fast subscriber got %d, want %d", got, n+1)
			}

			t.Logf("slow subscriber received %d of %d, %d dropped", len(seqs), n, reported)
			tt.check(t, seqs)
			if reported == 0 || reported != g.Dropped() || uint64(len(seqs))+reported != n {
				t.Fatalf("received %d, %s %d, gateway dropped %d; want received + dropped = %d", len(seqs), wire.DroppedHeader, reported, g.Dropped(), n)
			}
			if by := g.DroppedBy(); by[tt.name] != reported || len(by) != numDropReasons {
				t.Fatalf("drops by reason %v, want all %d under %s", by, reported, tt.name)
			}
			if sc := b.Stats().SlowConsumers; sc != 0 {
				t.Fatalf("slow consumers = %d, want 0", sc)
			}
			pub.write((&wire.Query{Ref: 9, Kind: wire.QueryServer}).Append(nil))
			res, _ := pub.next().(*wire.Result)
			var info ServerInfo
			if res == nil || json.Unmarshal(res.Body, &info) != nil || info.Dropped != reported {
				t.Fatalf("QUERY server answered %#v", res)
			}
		})
	}
}

// publishAcked sends n messages with refs 1..n from a goroutine, since the
// writes stall while the server's read loop waits on a Block subscriber.
func publishAcked(t *testing.T, pub *rawClient, n int, payload []byte) {
	go func() {
		var buf []byte
		for s := 1; s <= n; s++ {
			buf = seqMsg(buf[:0], uint64(s), s, payload)
			pub.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := pub.nc.Write(buf); err != nil {
				t.Errorf("publish %d: %v", s, err)
				return
			}
		}
	}()
}

// recvOks reads the OKs for refs from..n from ch, in order, and returns
// their counts.
func recvOks(t *testing.T, ch <-chan wire.Frame, from, n int) []uint64 {
	t.Helper()
	var counts []uint64
	for len(counts) <= n-from {
		switch f := recv(t, ch).(type) {
		case *wire.Ok:
			if want := uint64(from + len(counts)); f.Ref != want {
				t.Fatalf("OK for ref %d, want %d", f.Ref, want)
			}
			counts = append(counts, f.Count)
		case *wire.Err:
			t.Fatalf("ERR %v %s", f.Code, f.Message)
		}
	}
	return counts
}

func TestBlockPolicyHoldsThePublisherUntilTheSubscriberReads(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = 5 * time.Second // the reader starts well before
	g, b, addr := startGateway(t, cfg)
	slow := connectRaw(t, addr, "slow")
	slow.shrinkReadBuffer()
	slow.subWith(1, "feed", wire.BackpressureBlock, 4)
	pub := connectRaw(t, addr, "pub")
	pubIn := readFrames(pub)
	const n = 200 // of 64 KiB: 13 MB, past the socket buffers
	publishAcked(t, pub, n, make([]byte, 64<<10))

	waitFor(t, func() bool { return publisherWaiting(g, "slow") })
	acked := 0
	for len(pubIn) > 0 {
		if _, ok := (<-pubIn).(*wire.Ok); ok {
			acked++
		}
	}
	if acked >= n {
		t.Fatalf("publisher has all %d OKs while a delivery waits", acked)
	}

	slowIn := readFrames(slow)
	for s := 1; s <= n; s++ {
		m := recvMsg(t, slowIn)
		if got := seqOf(t, m); got != s {
			t.Fatalf("subscriber got %d, want %d: block must not drop", got, s)
		}
		if _, ok := droppedOf(t, m); ok {
			t.Fatalf("message %d reports drops", s)
		}
	}
	for i, c := range recvOks(t, pubIn, acked+1, n) {
		if c != 1 {
			t.Fatalf("OK %d counts %d receivers, want 1", acked+i+1, c)
		}
	}
	if sc, d := b.Stats().SlowConsumers, g.Dropped(); sc != 0 || d != 0 {
		t.Fatalf("slow consumers %d, dropped %d; want 0, 0", sc, d)
	}
}

func TestBlockPolicyCutsANonReaderAfterTheWriteTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = 500 * time.Millisecond
	cfg.MaxPending = 32 << 20 // only the policy may stop the slow subscriber
	_, b, addr := startGateway(t, cfg)
	slow := connectRaw(t, addr, "slow") // never reads
	slow.shrinkReadBuffer()
	slow.subWith(1, "feed", wire.BackpressureBlock, 4)
	fast := connectRaw(t, addr, "fast")
	fast.sub(1, "feed")
	fastIn := readFrames(fast)
	pub := connectRaw(t, addr, "pub")
	pubIn := readFrames(pub)
	const n = 400 // of 16 KiB: 6.5 MB, past the slow reader's socket buffers
	start := time.Now()
	publishAcked(t, pub, n, make([]byte, 16<<10))

	counts := recvOks(t, pubIn, 1, n)
	if counts[0] != 2 || counts[n-1] != 1 {
		t.Fatalf("first OK reached %d, last %d; want 2 (both) then 1 (the slow one cut)", counts[0], counts[n-1])
	}
	if d := time.Since(start); d < cfg.WriteTimeout {
		t.Fatalf("publisher finished in %v, before the write timeout of %v", d, cfg.WriteTimeout)
	}
	for s := 1; s <= n; s++ {
		if got := seqOf(t, recvMsg(t, fastIn)); got != s {
			t.Fatalf("fast subscriber got %d, want %d", got, s)
		}
	}
	if sc := b.Stats().SlowConsumers; sc != 1 {
		t.Fatalf("slow consumers = %d, want 1", sc)
	}
	waitFor(t, func() bool { _, ok := b.Endpoint("slow"); return !ok })
}

func TestBlockPolicyReleasesThePublisherOnUnsub(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = 5 * time.Second // the reader starts well before
	g, b, addr := startGateway(t, cfg)
	slow := connectRaw(t, addr, "slow")
	slow.shrinkReadBuffer()
	slow.subWith(1, "feed", wire.BackpressureBlock, 4)
	pub := connectRaw(t, addr, "pub")
	pubIn := readFrames(pub)
	const n = 200
	publishAcked(t, pub, n, make([]byte, 64<<10))
	waitFor(t, func() bool { return publisherWaiting(g, "slow") })

	slow.write((&wire.Unsub{SID: 1}).Append(nil)) // the slow conn still reads frames
	counts := recvOks(t, pubIn, 1, n)
	if counts[n-1] != 0 {
		t.Fatalf("last OK reached %d after UNSUB, want 0", counts[n-1])
	}
	// The subscriber reads what was already queued, and stays connected.
	slowIn := readFrames(slow)
	slow.write(wire.AppendEmpty(nil, wire.OpPing))
	for {
		if e, ok := recv(t, slowIn).(wire.Empty); ok && e.Op == wire.OpPong {
			break
		}
	}
	if sc := b.Stats().SlowConsumers; sc != 0 {
		t.Fatalf("slow consumers = %d, want 0", sc)
	}
}

func TestAppendDropped(t *testing.T) {
	tests := []struct {
		name string
		in   []wire.HeaderField
		n    uint64
	}{
		{"no headers", nil, 1},
		{"keeps existing", []wire.HeaderField{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, 12345},
		{"big count", []wire.HeaderField{{Key: wire.KeyHeader, Value: "x"}}, 1<<64 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.ParseHeaders(appendDropped([]byte("junk"), wire.AppendHeaders(nil, tt.in), tt.n)[4:])
			want := append(slices.Clone(tt.in), wire.HeaderField{Key: wire.DroppedHeader, Value: strconv.FormatUint(tt.n, 10)})
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("got %v, %v; want %v", got, err, want)
			}
		})
	}
}

func TestMessageKey(t *testing.T) {
	tests := []struct {
		name    string
		headers []wire.HeaderField
		want    string
	}{
		{"subject without headers", nil, "prices.eu"},
		{"subject without the key header", []wire.HeaderField{{Key: "a", Value: "b"}}, "prices.eu"},
		{"first key header", []wire.HeaderField{{Key: "a", Value: "b"}, {Key: wire.KeyHeader, Value: "k1"}, {Key: wire.KeyHeader, Value: "k2"}}, "k1"},
		{"empty key", []wire.HeaderField{{Key: wire.KeyHeader, Value: ""}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messageKey(wire.AppendHeaders(nil, tt.headers), []byte("prices.eu")); got != tt.want {
				t.Fatalf("key %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShutdownWritesWaitingMessages(t *testing.T) {
	g, b, addr := startGateway(t, testConfig())
	slow := connectRaw(t, addr, "slow")
	slow.shrinkReadBuffer()
	slow.subWith(1, "feed", wire.BackpressureDropOldest, 8)
	pub := connectRaw(t, addr, "pub")
	const n = 150 // of 64 KiB: 10 MB, past the socket buffers
	payload := make([]byte, 64<<10)
	for s := 1; s <= n; s++ {
		pub.write(seqMsg(nil, 0, s, payload))
	}
	pub.write((&wire.Query{Ref: 1, Kind: wire.QueryServer}).Append(nil))
	pub.next() // every message has been routed
	// Pending counts what is queued and not yet handed to the socket: the
	// waiting messages (the handed ones are inside a blocked write).
	if p := pendingMsgs(b, "slow"); p == 0 {
		t.Fatalf("%d messages pending, want some waiting", p)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- g.Shutdown(ctx)
	}()
	slowIn := readFrames(slow)
	last := 0
	for {
		f := recv(t, slowIn)
		if e, ok := f.(*wire.Err); ok {
			if e.Code != wire.CodeShutdown {
				t.Fatalf("ERR %v %s", e.Code, e.Message)
			}
			break
		}
		if m, ok := f.(*wire.Msg); ok {
			last = seqOf(t, m)
		}
	}
	if last != n {
		t.Fatalf("last message before the shutdown ERR is %d, want %d", last, n)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDropReason(t *testing.T) {
	for _, tt := range []struct {
		p    stream.Policy
		want string
	}{
		{stream.DropNewest, "drop-newest"},
		{stream.DropOldest, "drop-oldest"},
		{stream.LatestPerKey, "latest-per-key"},
	} {
		if got := dropReasonNames[dropReason(tt.p)]; got != tt.want {
			t.Errorf("policy %d drops as %q, want %q", tt.p, got, tt.want)
		}
	}
}
