package broker

import (
	"errors"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/stream"
)

func frames(r *recorder, kind StreamKind) []StreamFrame {
	var out []StreamFrame
	for _, f := range r.streamFrames() {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func openTo(t *testing.T, b *Broker, ep *Endpoint, spec StreamSpec) int {
	t.Helper()
	n, err := b.OpenStream(ep, spec)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStreamToSubjectPacedBySlowest(t *testing.T) {
	b := newTestBroker()
	phone, phoneRec := connect(t, b, "phone")
	d1, r1 := connect(t, b, "dash1")
	d2, r2 := connect(t, b, "dash2")
	subscribe(t, b, d1, 1, "gps.>", "", ScopeStream)
	subscribe(t, b, d2, 1, "gps.*", "", ScopeStream)
	if n := openTo(t, b, phone, StreamSpec{ID: 1, Subject: []byte("gps.phone1")}); n != 2 {
		t.Fatalf("stream reached %d, want 2", n)
	}
	o1, o2 := frames(r1, StreamOpenKind), frames(r2, StreamOpenKind)
	if len(o1) != 1 || len(o2) != 1 || string(o1[0].From) != "phone" || o1[0].Stream%2 != 0 {
		t.Fatalf("opens: %+v %+v", o1, o2)
	}
	if err := b.StreamData(phone, 1, 1, nil, []byte("x")); !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("data without credit: %v", err)
	}
	// The abort closed it: open again.
	openTo(t, b, phone, StreamSpec{ID: 3, Subject: []byte("gps.phone1")})
	o1, o2 = frames(r1, StreamOpenKind), frames(r2, StreamOpenKind)
	s1, s2 := o1[1].Stream, o2[1].Stream
	b.StreamCredit(d1, s1, stream.Credit{Msgs: 10, Bytes: 1000})
	if c := frames(phoneRec, StreamCreditKind); len(c) != 0 {
		t.Fatalf("sender got credit %+v while dash2 granted none", c)
	}
	b.StreamCredit(d2, s2, stream.Credit{Msgs: 2, Bytes: 1000})
	c := frames(phoneRec, StreamCreditKind)
	if len(c) != 1 || c[0].Credit != (stream.Credit{Msgs: 2, Bytes: 1000}) || c[0].Stream != 3 {
		t.Fatalf("sender credit %+v, want 2 msgs (the slowest)", c)
	}
	for seq := uint64(1); seq <= 2; seq++ {
		if err := b.StreamData(phone, 3, seq, nil, []byte("fix")); err != nil {
			t.Fatal(err)
		}
	}
	if got := frames(r2, StreamDataKind); len(got) != 2 || got[1].Seq != 2 || got[1].Stream != s2 {
		t.Fatalf("dash2 data %+v", got)
	}
	if err := b.StreamData(phone, 3, 3, nil, []byte("fix")); err == nil {
		t.Fatal("sender overran the slowest window")
	}
}

func TestStreamCloseAndReceiverLeaving(t *testing.T) {
	b := newTestBroker()
	phone, phoneRec := connect(t, b, "phone")
	d1, r1 := connect(t, b, "dash1")
	d2, r2 := connect(t, b, "dash2")
	subscribe(t, b, d1, 1, "gps", "", ScopeStream)
	subscribe(t, b, d2, 1, "gps", "", ScopeStream)
	openTo(t, b, phone, StreamSpec{ID: 1, Subject: []byte("gps")})
	s1, s2 := frames(r1, StreamOpenKind)[0].Stream, frames(r2, StreamOpenKind)[0].Stream
	b.StreamCredit(d1, s1, stream.Credit{Msgs: 5, Bytes: 500})
	b.StreamCredit(d2, s2, stream.Credit{Msgs: 1, Bytes: 500})
	b.CloseStream(d2, s2, CloseEnd, "") // dash2 leaves: dash1 alone paces now
	c := frames(phoneRec, StreamCreditKind)
	if last := c[len(c)-1].Credit; last.Msgs != 4 {
		t.Fatalf("credit after the slow receiver left: %+v", c)
	}
	b.CloseStream(phone, 1, CloseEnd, "done")
	if cl := frames(r1, StreamCloseKind); len(cl) != 1 || cl[0].Code != CloseEnd {
		t.Fatalf("dash1 close %+v", cl)
	}
	if phone.stream(1) != nil || d1.stream(s1) != nil {
		t.Fatal("stream state not released")
	}
}

func TestChannel(t *testing.T) {
	b := newTestBroker()
	cli, cliRec := connect(t, b, "client")
	svc, svcRec := connect(t, b, "echo-1")
	subscribe(t, b, svc, 1, "echo", "", ScopeStream)
	_, err := b.OpenStream(cli, StreamSpec{ID: 1, Flags: StreamBidi, Subject: []byte("echo")})
	if !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("channel to a subject: %v", err)
	}
	n := openTo(t, b, cli, StreamSpec{ID: 1, Flags: StreamBidi, Subject: []byte("echo"),
		Target: Target{Mode: ModeUnicast, To: []byte("echo-1")}, Window: stream.Credit{Msgs: 1, Bytes: 100}})
	if n != 1 {
		t.Fatalf("channel reached %d", n)
	}
	open := frames(svcRec, StreamOpenKind)[0]
	if open.Flags&StreamBidi == 0 || open.Credit.Msgs != 1 {
		t.Fatalf("acceptor open %+v", open)
	}
	b.StreamCredit(svc, open.Stream, stream.Credit{Msgs: 1, Bytes: 100})
	if err := b.StreamData(cli, 1, 1, nil, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := b.StreamData(svc, open.Stream, 1, nil, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if d := frames(cliRec, StreamDataKind); len(d) != 1 || string(d[0].Payload) != "hi" || d[0].Stream != 1 {
		t.Fatalf("client got %+v", d)
	}
	b.CloseStream(cli, 1, CloseEnd, "") // half-close: the service may still send
	b.StreamCredit(cli, 1, stream.Credit{Msgs: 1, Bytes: 100})
	if err := b.StreamData(svc, open.Stream, 2, nil, []byte("bye")); err != nil {
		t.Fatalf("send after the peer's half-close: %v", err)
	}
	b.CloseStream(svc, open.Stream, CloseEnd, "")
	if cli.stream(1) != nil || svc.stream(open.Stream) != nil {
		t.Fatal("channel not released after both half-closes")
	}
}

func TestStreamPeerDisconnect(t *testing.T) {
	b := newTestBroker()
	cli, cliRec := connect(t, b, "client")
	svc, _ := connect(t, b, "svc")
	subscribe(t, b, svc, 1, "chat", "", ScopeStream)
	openTo(t, b, cli, StreamSpec{ID: 5, Flags: StreamBidi, Subject: []byte("chat"), Target: Target{Mode: ModeUnicast, To: []byte("svc")}})
	b.Disconnect(svc)
	cl := frames(cliRec, StreamCloseKind)
	if len(cl) != 1 || cl[0].Code != ClosePeerGone || cl[0].Stream != 5 {
		t.Fatalf("client close %+v", cl)
	}
	if cli.stream(5) != nil {
		t.Fatal("opener still holds the channel")
	}
}

func TestStreamCutSlow(t *testing.T) {
	b, fc := failoverBroker(t)
	phone, _ := connectInfo(t, b, EndpointInfo{ID: "phone"})
	fast, fastRec := connectInfo(t, b, EndpointInfo{ID: "fast"})
	slow, slowRec := connectInfo(t, b, EndpointInfo{ID: "slow"})
	subscribe(t, b, fast, 1, "gps", "", ScopeStream)
	subscribe(t, b, slow, 1, "gps", "", ScopeStream)
	openTo(t, b, phone, StreamSpec{ID: 1, Flags: StreamCutSlow, Subject: []byte("gps")})
	fs, ss := frames(&fastRec.recorder, StreamOpenKind)[0].Stream, frames(&slowRec.recorder, StreamOpenKind)[0].Stream
	b.StreamCredit(fast, fs, stream.Credit{Msgs: 100, Bytes: 1 << 20})
	b.StreamCredit(slow, ss, stream.Credit{Msgs: 1, Bytes: 1 << 20})
	if err := b.StreamData(phone, 1, 1, nil, []byte("a")); err != nil {
		t.Fatal(err)
	}
	fc.Advance(b.cfg.StallTimeout)
	cl := frames(&slowRec.recorder, StreamCloseKind)
	if len(cl) != 1 || cl[0].Code != CloseSlow {
		t.Fatalf("slow receiver close %+v", cl)
	}
	if err := b.StreamData(phone, 1, 2, nil, []byte("b")); err != nil {
		t.Fatalf("sender still blocked after the cut: %v", err)
	}
	if got := frames(&fastRec.recorder, StreamDataKind); len(got) != 2 {
		t.Fatalf("fast receiver got %d", len(got))
	}
	_ = time.Second
}

func subscribeLossy(t *testing.T, b *Broker, ep *Endpoint, sid uint64, pattern string, bp uint8, limit uint64) {
	t.Helper()
	if err := b.Subscribe(ep, SubSpec{SID: sid, Pattern: pattern, Scope: ScopeStream, Backpressure: bp, Limit: limit}); err != nil {
		t.Fatal(err)
	}
}

func TestStreamLossyLegDoesNotPace(t *testing.T) {
	b := newTestBroker()
	phone, phoneRec := connect(t, b, "phone")
	paced, pacedRec := connect(t, b, "paced")
	lossy, lossyRec := connect(t, b, "lossy")
	subscribe(t, b, paced, 1, "gps", "", ScopeStream)
	subscribeLossy(t, b, lossy, 1, "gps", 3, 8)
	if n := openTo(t, b, phone, StreamSpec{ID: 1, Flags: StreamCutSlow, Subject: []byte("gps")}); n != 2 {
		t.Fatalf("stream reached %d, want 2", n)
	}
	po, lo := frames(pacedRec, StreamOpenKind)[0], frames(lossyRec, StreamOpenKind)[0]
	if po.Backpressure != 0 || lo.Backpressure != 3 || lo.Limit != 8 {
		t.Fatalf("opens: paced %+v, lossy %+v", po, lo)
	}
	if c := frames(phoneRec, StreamCreditKind); len(c) != 0 {
		t.Fatalf("sender got credit %+v before the paced receiver granted any", c)
	}
	b.StreamCredit(lossy, lo.Stream, stream.Credit{Msgs: 1, Bytes: 10}) // ignored
	b.StreamCredit(paced, po.Stream, stream.Credit{Msgs: 5, Bytes: 1000})
	c := frames(phoneRec, StreamCreditKind)
	if len(c) != 1 || c[0].Credit != (stream.Credit{Msgs: 5, Bytes: 1000}) {
		t.Fatalf("sender credit %+v, want the paced receiver's 5 msgs", c)
	}
	for seq := uint64(1); seq <= 5; seq++ {
		if err := b.StreamData(phone, 1, seq, nil, []byte("fix")); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
	}
	if got := frames(lossyRec, StreamDataKind); len(got) != 5 || got[4].Seq != 5 || got[4].Stream != lo.Stream {
		t.Fatalf("lossy receiver data %+v", got)
	}
	// The lossy leg never granted more, yet it is not a laggard: not cut.
	if cl := frames(lossyRec, StreamCloseKind); len(cl) != 0 {
		t.Fatalf("lossy receiver closed: %+v", cl)
	}
	// The paced receiver leaves: the opener is unpaced from now on.
	b.CloseStream(paced, po.Stream, CloseEnd, "")
	c = frames(phoneRec, StreamCreditKind)
	if last := c[len(c)-1].Credit; last != UnpacedWindow {
		t.Fatalf("credit after the paced receiver left: %+v", c)
	}
	for seq := uint64(6); seq <= 100; seq++ {
		if err := b.StreamData(phone, 1, seq, nil, []byte("fix")); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
	}
	b.CloseStream(phone, 1, CloseEnd, "")
	if phone.stream(1) != nil || lossy.stream(lo.Stream) != nil {
		t.Fatal("stream state not released")
	}
}

func TestStreamAllLossyGetsBigWindow(t *testing.T) {
	b := newTestBroker()
	phone, phoneRec := connect(t, b, "phone")
	d1, r1 := connect(t, b, "dash1")
	d2, r2 := connect(t, b, "dash2")
	subscribeLossy(t, b, d1, 1, "gps.>", 2, 0)
	subscribeLossy(t, b, d2, 1, "gps.*", 4, 1)
	if n := openTo(t, b, phone, StreamSpec{ID: 1, Subject: []byte("gps.p1")}); n != 2 {
		t.Fatalf("stream reached %d, want 2", n)
	}
	c := frames(phoneRec, StreamCreditKind)
	if len(c) != 1 || c[0].Credit != UnpacedWindow || c[0].Stream != 1 {
		t.Fatalf("sender credit %+v, want one UnpacedWindow", c)
	}
	for seq := uint64(1); seq <= 1000; seq++ {
		if err := b.StreamData(phone, 1, seq, nil, []byte("fix")); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
	}
	if n1, n2 := len(frames(r1, StreamDataKind)), len(frames(r2, StreamDataKind)); n1 != 1000 || n2 != 1000 {
		t.Fatalf("receivers got %d and %d messages, want 1000", n1, n2)
	}
	// Leaving as usual; the last one out ends the stream.
	s1, s2 := frames(r1, StreamOpenKind)[0].Stream, frames(r2, StreamOpenKind)[0].Stream
	b.CloseStream(d1, s1, CloseEnd, "")
	b.CloseStream(d2, s2, CloseEnd, "")
	if cl := frames(phoneRec, StreamCloseKind); len(cl) != 1 || cl[0].Code != CloseNoReceivers {
		t.Fatalf("sender close %+v", cl)
	}
	if phone.stream(1) != nil {
		t.Fatal("stream state not released")
	}
	// A channel ignores the drop policy: its acceptor paces as usual.
	openTo(t, b, phone, StreamSpec{ID: 3, Flags: StreamBidi, Subject: []byte("gps.p1"), Target: Target{Mode: ModeUnicast, To: []byte("dash1")}})
	if o := frames(r1, StreamOpenKind); o[len(o)-1].Backpressure != 0 {
		t.Fatalf("channel open %+v", o[len(o)-1])
	}
	if c := frames(phoneRec, StreamCreditKind); len(c) != 1 {
		t.Fatalf("channel opener got credit %+v", c)
	}
}
