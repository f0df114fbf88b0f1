package ferry

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

func TestRequestReply(t *testing.T) {
	s := newFakeServer(t)
	client, server := connect(t, s), connect(t, s)
	if _, err := server.Respond("greet.*", func(m *Msg) []byte { return append([]byte("hello "), m.Data...) }); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r, err := client.Request(ctxTimeout(t, 5*time.Second), "greet.en", []byte("bob"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(r.Data) != "hello bob" || r.From != server.ID() {
			t.Fatalf("reply = %q from %q", r.Data, r.From)
		}
		if want := "_INBOX." + client.ID() + "."; !strings.HasPrefix(r.Subject, want) {
			t.Fatalf("reply subject %q, want prefix %q", r.Subject, want)
		}
	}
	// One reply subscription per connection.
	s.mu.Lock()
	inbox := 0
	for fc := range s.conns {
		for _, sub := range fc.subs {
			if strings.HasPrefix(sub.pattern, "_INBOX.") {
				inbox++
				if sub.pattern != "_INBOX."+client.ID()+".*" || sub.scope != wire.ScopeTopic {
					t.Errorf("reply subscription %+v", sub)
				}
			}
		}
	}
	s.mu.Unlock()
	if inbox != 1 {
		t.Errorf("%d reply subscriptions, want 1", inbox)
	}
}

func TestRequestNoResponders(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	start := time.Now()
	_, err := c.Request(ctxTimeout(t, 10*time.Second), "nobody.home", nil)
	if !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Request = %v, want ErrNoResponders", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("no responders took %v; it should fail at once", d)
	}
}

func TestRequestTimeout(t *testing.T) {
	s := newFakeServer(t)
	client, server := connect(t, s), connect(t, s)
	var asked atomic.Int32
	server.Subscribe("slow", func(*Msg) { asked.Add(1) }) // never answers
	_, err := client.Request(ctxTimeout(t, 50*time.Millisecond), "slow", nil)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Request = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	if asked.Load() != 1 {
		t.Errorf("responder asked %d times", asked.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.Request(ctx, "slow", nil); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Request = %v, want ErrTimeout and Canceled", err)
	}
}

func TestRequestReplyBeforeOK(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	// The fake answers a request with the reply only; the test sends the
	// OK after Request has returned.
	refs := make(chan uint64, 1)
	s.set(func(s *fakeServer) {
		s.onPub = func(fc *fakeConn, p *wire.Pub) bool {
			if len(p.Reply) == 0 {
				return false
			}
			s.mu.Lock()
			var sid uint64
			for id, sub := range fc.subs {
				if fakeMatch(sub.pattern, string(p.Reply)) {
					sid = id
				}
			}
			s.mu.Unlock()
			fc.write(wire.AppendMsg(nil, sid, p.Reply, nil, []byte("srv"), wire.ModePublish, nil, []byte("early")))
			refs <- p.Ref
			return true
		}
	})
	r, err := c.Request(ctxTimeout(t, 5*time.Second), "q", nil)
	if err != nil || string(r.Data) != "early" {
		t.Fatalf("Request = %v, %v", r, err)
	}
	s.conn(t).send(&wire.Ok{Ref: <-refs, Count: 1}) // late OK: ignored
	if err := c.Flush(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestRequestServerError(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	s.set(func(s *fakeServer) {
		s.onPub = func(fc *fakeConn, p *wire.Pub) bool {
			fc.send(&wire.Err{Ref: p.Ref, Code: wire.CodeNotSupported, Message: "no"})
			return true
		}
	})
	_, err := c.Request(ctxTimeout(t, 5*time.Second), "q", nil)
	var se *ServerError
	if !errors.Is(err, ErrNotSupported) || !errors.As(err, &se) {
		t.Fatalf("Request = %v, want a *ServerError matching ErrNotSupported", err)
	}
}

func TestSendUnicast(t *testing.T) {
	s := newFakeServer(t)
	sender, receiver := connect(t, s), connect(t, s, WithID("cam-1"))
	got := make(chan *Msg, 1)
	if _, err := receiver.Handle("cmd.>", func(m *Msg) { got <- m }); err != nil {
		t.Fatal(err)
	}
	// A topic subscription on the same subject must not get the unicast.
	receiver.Subscribe("cmd.>", func(m *Msg) { t.Errorf("topic subscription got %v", m.Subject) })
	if err := sender.Send(ctxTimeout(t, 5*time.Second), "cam-1", "cmd.zoom", []byte("2x")); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if m.Mode != ModeUnicast || m.From != sender.ID() || string(m.Data) != "2x" {
		t.Fatalf("got %+v", m)
	}
	n, err := sender.SendMsg(ctxTimeout(t, 5*time.Second), &Msg{Subject: "cmd.x", Target: ToEndpoint("cam-1")})
	if n != 1 || err != nil {
		t.Fatalf("SendMsg = %d, %v; want 1, nil", n, err)
	}
	if err := sender.Send(ctxTimeout(t, 5*time.Second), "cam-2", "cmd.zoom", nil); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Send to a missing endpoint = %v, want ErrNoResponders", err)
	}
	if err := sender.Send(ctxTimeout(t, 5*time.Second), "cam-1", "other", nil); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Send on an unhandled subject = %v, want ErrNoResponders", err)
	}
}

func TestSendToSubscribersCounts(t *testing.T) {
	s := newFakeServer(t)
	c := connect(t, s)
	for range 3 {
		c.Subscribe("fan", func(*Msg) {})
	}
	n, err := c.SendMsg(ctxTimeout(t, 5*time.Second), &Msg{Subject: "fan"})
	if n != 3 || err != nil {
		t.Fatalf("SendMsg = %d, %v; want 3, nil", n, err)
	}
}

func TestRespondViaInbox(t *testing.T) {
	s := newFakeServer(t)
	client, server := connect(t, s), connect(t, s, WithID("svc"))
	server.Respond("echo", func(m *Msg) []byte { return m.Data })
	r, err := client.RequestMsg(ctxTimeout(t, 5*time.Second), &Msg{Subject: "echo", Data: []byte("hi"), Target: ToEndpoint("svc")})
	if err != nil || string(r.Data) != "hi" {
		t.Fatalf("RequestMsg = %v, %v", r, err)
	}
	if err := r.Respond(nil); !errors.Is(err, ErrNoReplyAddress) {
		t.Errorf("Respond on a reply = %v, want ErrNoReplyAddress", err)
	}
}
