package ferry

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

func TestPublishSubscribe(t *testing.T) {
	s := newFakeServer(t)
	sender, receiver := connect(t, s), connect(t, s)
	ch := make(chan *Msg, 10)
	sub, err := receiver.Subscribe("orders.*", func(m *Msg) { ch <- m })
	if err != nil {
		t.Fatal(err)
	}
	if sub.Pattern() != "orders.*" || sub.Group() != "" {
		t.Errorf("Pattern, Group = %q, %q", sub.Pattern(), sub.Group())
	}
	data := []byte("order 1")
	h := Header{{"Msg-Id", "42"}, {"trace", ""}}
	if err := sender.PublishMsg(&Msg{Subject: "orders.eu", Reply: "r.1", Header: h, Data: data}); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X' // the client must have copied the payload
	m := recv(t, ch)
	if m.Subject != "orders.eu" || m.Reply != "r.1" || string(m.Data) != "order 1" || m.From != sender.ID() ||
		m.Mode != ModePublish || m.Sub != sub || m.Header.Get("Msg-Id") != "42" || len(m.Header) != 2 {
		t.Fatalf("got %+v", m)
	}
}

func recv(t testing.TB, ch <-chan *Msg) *Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

func TestMessagesOfASubscriptionArriveInOrder(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	const n = 2000
	var got []string
	done := make(chan struct{})
	_, err := c.Subscribe("seq", func(m *Msg) {
		got = append(got, string(m.Data))
		if len(got) == n {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := c.Publish("seq", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("got %d of %d messages", len(got), n)
	}
	for i, g := range got {
		if g != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, g)
		}
	}
}

func TestSubscribeChan(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	ch := make(chan *Msg, 1)
	if _, err := c.SubscribeChan("a.>", ch); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.Publish("a.b", []byte{byte('0' + i)})
	}
	for i := range 3 {
		if m := recv(t, ch); m.Data[0] != byte('0'+i) {
			t.Fatalf("message %d: %q", i, m.Data)
		}
	}
	if _, err := c.SubscribeChan("a", nil); !errors.Is(err, ErrBadSubscription) {
		t.Errorf("SubscribeChan(nil) = %v, want ErrBadSubscription", err)
	}
}

func TestQueueSubscribe(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	var a, b atomic.Int32
	sa, err := c.QueueSubscribe("jobs", "workers", func(*Msg) { a.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.QueueSubscribe("jobs", "workers", func(*Msg) { b.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if sa.Group() != "workers" {
		t.Errorf("Group = %q", sa.Group())
	}
	for range 100 {
		c.Publish("jobs", nil)
	}
	waitFor(t, "100 jobs", func() bool { return a.Load()+b.Load() == 100 })
	if _, err := c.QueueSubscribe("jobs", "", func(*Msg) {}); !errors.Is(err, ErrBadSubscription) {
		t.Errorf("QueueSubscribe without group = %v, want ErrBadSubscription", err)
	}
}

func TestSubscribeSendsScopeAndGroup(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	c.Subscribe("a", func(*Msg) {})
	c.Handle("b", func(*Msg) {})
	c.Respond("c", func(*Msg) []byte { return nil }, InGroup("g"))
	c.QueueSubscribe("d", "q", func(*Msg) {})
	want := map[string]fakeSub{
		"a": {"a", "", wire.ScopeTopic},
		"b": {"b", "", wire.ScopeInbox},
		"c": {"c", "g", wire.ScopeTopic | wire.ScopeInbox},
		"d": {"d", "q", wire.ScopeTopic},
	}
	got := map[string]fakeSub{}
	fc := s.conn(t)
	s.mu.Lock()
	for _, sub := range fc.subs {
		got[sub.pattern] = sub
	}
	s.mu.Unlock()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("sub %s: server got %+v, want %+v", k, got[k], w)
		}
	}
}

func TestSubscribeInvalidPattern(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	if _, err := c.Subscribe("a..b", func(*Msg) {}); !errors.Is(err, ErrInvalidSubject) {
		t.Errorf("client-side check: %v, want ErrInvalidSubject", err)
	}
	s.set(func(s *fakeServer) {
		s.onSub = func(sub *wire.Sub) *wire.Err {
			if string(sub.Pattern) == "too.long" {
				return &wire.Err{Code: wire.CodeInvalidSubject, Message: "pattern too long"}
			}
			return nil
		}
	})
	_, err := c.Subscribe("too.long", func(*Msg) {})
	var se *ServerError
	if !errors.Is(err, ErrInvalidSubject) || !errors.As(err, &se) {
		t.Fatalf("server refusal: %v, want a *ServerError matching ErrInvalidSubject", err)
	}
	c.mu.RLock()
	n := len(c.subs)
	c.mu.RUnlock()
	if n != 0 {
		t.Errorf("a refused subscription stayed registered (%d subs)", n)
	}
	if _, err := c.Subscribe("x", nil); !errors.Is(err, ErrBadSubscription) {
		t.Errorf("nil handler: %v", err)
	}
}

func TestSubscribeTimeout(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s, WithTimeout(50*time.Millisecond))
	s.set(func(s *fakeServer) { s.ignoreSub = true })
	if _, err := c.Subscribe("a", func(*Msg) {}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Subscribe without an answer = %v, want ErrTimeout", err)
	}
	// The server may hold the subscription: the client takes it back.
	waitFor(t, "UNSUB", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.unsubs) == 1 })
}

func TestPublishChecks(t *testing.T) {
	s := newFakeServer(t)
	s.set(func(s *fakeServer) { s.maxPayload, s.maxHeaders = 100, 20 })
	c := connect(t, s)
	tests := []struct {
		name string
		m    *Msg
		want error
	}{
		{"wildcard subject", &Msg{Subject: "a.*"}, ErrInvalidSubject},
		{"empty subject", &Msg{}, ErrInvalidSubject},
		{"payload too large", &Msg{Subject: "a", Data: make([]byte, 101)}, ErrPayloadTooLarge},
		{"headers too large", &Msg{Subject: "a", Header: Header{{"k", strings.Repeat("v", 30)}}}, ErrHeadersTooLarge},
		{"empty endpoint", &Msg{Subject: "a", Target: ToEndpoint("")}, ErrInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.PublishMsg(tt.m); !errors.Is(err, tt.want) {
				t.Fatalf("PublishMsg = %v, want %v", err, tt.want)
			}
		})
	}
	err := c.Publish("a", make([]byte, 101))
	if err == nil || !strings.Contains(err.Error(), "101") || !strings.Contains(err.Error(), "100") {
		t.Errorf("error should name size and limit: %v", err)
	}
	if err := c.Publish("a", make([]byte, 100)); err != nil {
		t.Errorf("payload at the limit: %v", err)
	}
}

func TestAsyncServerError(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, rec.options()...)
	s.conn(t).send(&wire.Err{Code: wire.CodeInvalidSubject, Message: "bad subject"})
	waitFor(t, "the error handler", func() bool { return rec.hasErr(ErrInvalidSubject) })
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("connection unusable after a non-fatal ERR: %v", err)
	}
}

func TestSlowConsumerDrops(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, append(rec.options(), WithSubPending(5))...)
	release := make(chan struct{})
	var mu sync.Mutex
	var got [][]byte
	sub, err := c.Subscribe("a", func(m *Msg) {
		<-release
		mu.Lock()
		got = append(got, m.Data)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		c.Publish("a", []byte{byte(i)})
	}
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// At most 5 messages can be pending: the handler holds the first.
	if d := sub.Dropped(); d != n-5 {
		t.Errorf("Dropped = %d, want %d", d, n-5)
	}
	if p := sub.Pending(); p != 5 {
		t.Errorf("Pending = %d, want 5", p)
	}
	waitFor(t, "ErrSlowConsumer", func() bool { return rec.hasErr(ErrSlowConsumer) })
	close(release)
	waitFor(t, "pending messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 5 })
	mu.Lock()
	defer mu.Unlock()
	for i, d := range got {
		if !bytes.Equal(d, []byte{byte(i)}) {
			t.Errorf("message %d = %v: not the first ones, in order", i, d)
		}
	}
}

func TestUnsubscribe(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	var n atomic.Int32
	sub, err := c.Subscribe("a", func(*Msg) { n.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	c.Publish("a", nil)
	waitFor(t, "first message", func() bool { return n.Load() == 1 })
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Unsubscribe(); !errors.Is(err, ErrBadSubscription) {
		t.Errorf("second Unsubscribe = %v, want ErrBadSubscription", err)
	}
	c.Publish("a", nil)
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	unsubs := len(s.unsubs)
	s.mu.Unlock()
	if unsubs != 1 || n.Load() != 1 {
		t.Errorf("server saw %d UNSUBs, handler ran %d times; want 1, 1", unsubs, n.Load())
	}
	waitFor(t, "the delivery goroutine to exit", func() bool {
		select {
		case <-sub.done:
			return true
		default:
			return false
		}
	})
}

func TestUnsubscribeFromHandler(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	done := make(chan error, 1)
	var sub *Subscription
	ready := make(chan struct{})
	sub, err := c.Subscribe("a", func(*Msg) { <-ready; done <- sub.Unsubscribe() })
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	c.Publish("a", nil)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Unsubscribe from the handler deadlocked")
	}
}

func TestDrain(t *testing.T) {
	s := newFakeServer(t)
	var rec recorder
	c := connect(t, s, rec.options()...)
	release := make(chan struct{})
	var n atomic.Int32
	if _, err := c.Subscribe("a", func(*Msg) { <-release; n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		c.Publish("a", nil)
	}
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Drain(ctxTimeout(t, 10*time.Second)) }()
	waitFor(t, "UNSUB", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.unsubs) == 1 })
	if _, err := c.Subscribe("b", func(*Msg) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe while draining = %v, want ErrClosed", err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if n.Load() != 10 {
		t.Errorf("handled %d of 10 messages", n.Load())
	}
	if !c.IsClosed() {
		t.Error("not closed after Drain")
	}
}

func TestDrainTimeout(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	block := make(chan struct{})
	defer close(block)
	c.Subscribe("a", func(*Msg) { <-block })
	c.Publish("a", nil)
	c.Publish("a", nil)
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	err := c.Drain(ctxTimeout(t, 50*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Drain = %v, want ErrTimeout", err)
	}
	if !c.IsClosed() {
		t.Error("not closed after Drain timed out")
	}
}
