package broker

import (
	"testing"
	"time"
)

func BenchmarkUnicast(b *testing.B) {
	br := New(Config{})
	pub, _ := br.Connect(EndpointInfo{ID: "p"}, nopSink{})
	ep, _ := br.Connect(EndpointInfo{ID: "s"}, nopSink{})
	br.Subscribe(ep, SubSpec{SID: 1, Pattern: "orders.>", Scope: ScopeInbox})
	t := Target{Mode: ModeUnicast, To: []byte("s")}
	for _, bb := range []struct {
		name     string
		received time.Time
	}{
		{"stamped", time.Now()}, // as from the native gateway: its receive time
		{"clock", time.Time{}},  // the broker reads its clock for the decision
	} {
		b.Run(bb.name, func(b *testing.B) {
			m := &Message{Subject: []byte("orders.eu.created"), Payload: make([]byte, 128), Received: bb.received}
			b.ReportAllocs()
			for b.Loop() {
				br.Publish(pub, m, t)
			}
		})
	}
}

func BenchmarkPublishParallel(b *testing.B) {
	br := New(Config{})
	pub, _ := br.Connect(EndpointInfo{}, nopSink{})
	ep, _ := br.Connect(EndpointInfo{}, nopSink{})
	br.Subscribe(ep, SubSpec{SID: 1, Pattern: "orders.>"})
	m := &Message{Subject: []byte("orders.eu.created"), Payload: make([]byte, 128)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			br.Publish(pub, m, Target{})
		}
	})
}

func BenchmarkUnicastParallel(b *testing.B) {
	br := New(Config{})
	pub, _ := br.Connect(EndpointInfo{ID: "p"}, nopSink{})
	ep, _ := br.Connect(EndpointInfo{ID: "s"}, nopSink{})
	br.Subscribe(ep, SubSpec{SID: 1, Pattern: "orders.>", Scope: ScopeInbox})
	m := &Message{Subject: []byte("orders.eu.created"), Payload: make([]byte, 128)}
	t := Target{Mode: ModeUnicast, To: []byte("s")}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			br.Publish(pub, m, t)
		}
	})
}
