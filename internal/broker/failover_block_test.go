package broker

import (
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/route"
)

// blockingSink waits in Deliver until released, like a subscriber with
// block backpressure and a full queue.
type blockingSink struct {
	loadSink
	entered, release chan struct{}
}

func (s *blockingSink) Deliver(sid uint64, m *Message) bool {
	s.entered <- struct{}{}
	<-s.release
	return s.loadSink.Deliver(sid, m)
}

// TestDisconnectDoesNotWaitOnOtherRequests checks that an endpoint going
// away does not wait for a tracked anycast request it has no part in,
// whose delivery is waiting on a blocked subscriber.
func TestDisconnectDoesNotWaitOnOtherRequests(t *testing.T) {
	b := New(Config{MaxAttempts: 3})
	near := &blockingSink{entered: make(chan struct{}), release: make(chan struct{})}
	a, err := b.Connect(EndpointInfo{ID: "near", HasLocation: true, Lat: 48.9, Lon: 2.4}, near)
	if err != nil {
		t.Fatal(err)
	}
	far, farSink := connectInfo(t, b, EndpointInfo{ID: "far", HasLocation: true, Lat: 1.35, Lon: 103.8})
	for _, ep := range []*Endpoint{a, far} {
		subscribe(t, b, ep, 1, "svc.get", "", ScopeInbox)
	}
	req, _ := connectInfo(t, b, EndpointInfo{ID: "paris", HasLocation: true, Lat: 48.86, Lon: 2.35})
	bystander, _ := connectInfo(t, b, EndpointInfo{ID: "bystander"})

	published := make(chan error, 1)
	go func() {
		_, err := b.Publish(req, &Message{Subject: []byte("svc.get"), Reply: []byte("_INBOX.paris.1"), From: []byte("paris")},
			Target{Mode: ModeAnycast, Policy: route.Nearest})
		published <- err
	}()
	select {
	case <-near.entered: // the request is tracked and its delivery blocked
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the near endpoint")
	}
	gone := make(chan struct{})
	go func() {
		b.Disconnect(bystander)
		close(gone)
	}()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		close(near.release)
		t.Fatal("Disconnect of a bystander waited on a blocked request")
	}
	close(near.release)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	// The request's own responder going away still fails it over.
	b.Disconnect(a)
	if got := len(farSink.messages()); got != 1 {
		t.Fatalf("far got %d deliveries after near went away, want the request once", got)
	}
}
