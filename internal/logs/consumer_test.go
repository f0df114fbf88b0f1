package logs_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logs"
)

func TestStartPositions(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	for range 5 { // records 1..5 at t0, t0+1s, ..., t0+4s
		e.appendN("orders.eu", 1)
		e.clk.Advance(time.Second)
	}
	tests := []struct {
		name  string
		start logs.StartPos
		want  []uint64
	}{
		{"first", logs.StartFirst, []uint64{1, 2, 3, 4, 5}},
		{"zero value", logs.StartPos{}, []uint64{1, 2, 3, 4, 5}},
		{"last", logs.StartLast, []uint64{5}},
		{"new", logs.StartNew, []uint64{}},
		{"seq", logs.StartAtSeq(3), []uint64{3, 4, 5}},
		{"seq past end", logs.StartAtSeq(9), []uint64{}},
		{"time", logs.StartAtTime(t0.Add(1500 * time.Millisecond)), []uint64{3, 4, 5}},
		{"time before", logs.StartAtTime(t0.Add(-time.Hour)), []uint64{1, 2, 3, 4, 5}},
		{"time after", logs.StartAtTime(t0.Add(time.Hour)), []uint64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.consumer(logs.ConsumerConfig{Log: "orders", Start: tc.start, Ack: logs.AckNone})
			defer c.Close()
			got, _ := fetch(t, c, 10)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// "new" sees what comes after it.
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Start: logs.StartNew})
	e.appendN("orders.eu", 1)
	if got, _ := fetch(t, c, 10); !slices.Equal(got, []uint64{6}) {
		t.Errorf("new after append: %v", got)
	}
	c.Close()
	if li, _ := e.m.Info("orders"); len(li.Consumers) != 0 {
		t.Errorf("closed ephemeral consumers still listed: %+v", li.Consumers)
	}
}

func TestAckEach(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 5)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w", AckWait: 10 * time.Second})
	got, ds := fetch(t, c, 3)
	if !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("first batch %v", got)
	}
	for _, i := range []int{0, 2} { // ack 1 and 3, leave 2
		if err := c.Ack(ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Ack(ds[0]); err != nil {
		t.Errorf("second ack: %v", err)
	}
	info := c.Info()
	if info.AckFloor != 1 || info.Pending != 1 || info.Delivered != 3 {
		t.Errorf("info %+v, want floor 1, pending 1, delivered 3", info)
	}
	e.clk.Advance(10 * time.Second)
	got, ds = fetch(t, c, 10)
	if !slices.Equal(got, []uint64{2, 4, 5}) || ds[0].Deliveries != 2 || ds[1].Deliveries != 1 {
		t.Errorf("after ack wait: %v (deliveries %d)", got, ds[0].Deliveries)
	}
	for _, d := range ds {
		c.Ack(d)
	}
	if info := c.Info(); info.AckFloor != 5 || info.Pending != 0 {
		t.Errorf("all acked: %+v", info)
	}
	e.clk.Advance(time.Minute)
	if got, _ := fetch(t, c, 10); len(got) != 0 {
		t.Errorf("redelivered acked records: %v", got)
	}
	other := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "other"})
	if err := other.Ack(ds[0]); !errors.Is(err, logs.ErrInvalid) {
		t.Errorf("ack through another consumer: %v", err)
	}
}

func TestAckCumulative(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 6)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w", Ack: logs.AckCumulative, AckWait: time.Second})
	_, ds := fetch(t, c, 4)
	if err := c.Ack(ds[2]); err != nil { // acks 1..3
		t.Fatal(err)
	}
	if info := c.Info(); info.AckFloor != 3 || info.Pending != 1 {
		t.Errorf("after ack of 3: %+v", info)
	}
	if err := c.AckUpTo(9); !errors.Is(err, logs.ErrInvalid) {
		t.Errorf("AckUpTo past delivered: %v", err)
	}
	e.clk.Advance(time.Second)
	if got, _ := fetch(t, c, 10); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Errorf("after ack wait: %v", got)
	}
	if err := c.AckUpTo(6); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	if got, _ := fetch(t, c, 10); len(got) != 0 {
		t.Errorf("redelivered after AckUpTo: %v", got)
	}
}

func TestAckNone(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 3)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Ack: logs.AckNone, AckWait: time.Second})
	fetch(t, c, 10)
	e.clk.Advance(time.Minute)
	if got, _ := fetch(t, c, 10); len(got) != 0 {
		t.Errorf("AckNone redelivered %v", got)
	}
	if info := c.Info(); info.AckFloor != 3 || info.Pending != 0 {
		t.Errorf("info %+v", info)
	}
}

func TestNak(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 2)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w"})
	_, ds := fetch(t, c, 1)
	if err := c.Nak(ds[0]); err != nil {
		t.Fatal(err)
	}
	got, ds := fetch(t, c, 10)
	if !slices.Equal(got, []uint64{1, 2}) || ds[0].Deliveries != 2 {
		t.Errorf("after Nak: %v", got)
	}
}

func TestDeadLetter(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 2)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "billing", AckWait: 5 * time.Second, MaxDeliveries: 2})
	_, ds := fetch(t, c, 2)
	c.Ack(ds[1]) // only record 1 keeps failing
	e.clk.Advance(5 * time.Second)
	got, ds := fetch(t, c, 10)
	if !slices.Equal(got, []uint64{1}) || ds[0].Deliveries != 2 {
		t.Fatalf("redelivery: %v", got)
	}
	if out := e.outbox(); len(out) != 0 {
		t.Fatalf("dead-lettered too early: %+v", out)
	}
	e.clk.Advance(5 * time.Second) // the timer dead-letters without a Fetch
	out := e.outbox()
	if len(out) != 1 {
		t.Fatalf("outbox %+v, want one dead letter", out)
	}
	want := map[string]string{
		"Ferry-DLQ-Reason": "max deliveries", "Ferry-Log": "orders", "Ferry-Seq": "1",
		"Ferry-Deliveries": "2", "Ferry-Subject": "orders.eu",
	}
	d := out[0]
	if d.Subject != "$DLQ.orders.billing" || d.Payload != "p1" {
		t.Errorf("dead letter %s %q", d.Subject, d.Payload)
	}
	for k, v := range want {
		if d.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, d.Headers[k], v)
		}
	}
	if info := c.Info(); info.Pending != 0 || info.AckFloor != 2 {
		t.Errorf("after dead letter: %+v", info)
	}
	e.clk.Advance(time.Minute)
	if got, _ := fetch(t, c, 10); len(got) != 0 {
		t.Errorf("dead-lettered record redelivered: %v", got)
	}
}

func TestDeadLetterOnFetch(t *testing.T) {
	// Nak at the limit: the next Fetch dead-letters instead of redelivering.
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 1)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", MaxDeliveries: 1, DeadLetter: "dead.orders"})
	_, ds := fetch(t, c, 1)
	c.Nak(ds[0])
	if got, _ := fetch(t, c, 1); len(got) != 0 {
		t.Errorf("redelivered past max: %v", got)
	}
	if out := e.outbox(); len(out) != 1 || out[0].Subject != "dead.orders" || out[0].Headers["Ferry-Deliveries"] != "1" {
		t.Errorf("outbox %+v", out)
	}
}

func TestDurableSurvivesReopen(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 5)
	cfg := logs.ConsumerConfig{Log: "orders", Name: "billing", AckWait: time.Hour, MaxDeliveries: 3}
	c := e.consumer(cfg)
	_, ds := fetch(t, c, 3)
	c.Ack(ds[0])
	c.Ack(ds[2]) // 2 stays pending
	e.reopen()
	li, _ := e.m.Info("orders")
	if len(li.Consumers) != 1 || li.Consumers[0].Name != "billing" || li.Consumers[0].AckFloor != 1 || li.Consumers[0].Delivered != 3 {
		t.Fatalf("consumers after reopen: %+v", li.Consumers)
	}
	c = e.consumer(logs.ConsumerConfig{Log: "orders", Name: "billing", AckWait: time.Hour, MaxDeliveries: 3, Start: logs.StartNew})
	got, ds := fetch(t, c, 10) // the pending one is due at once, then the rest
	if !slices.Equal(got, []uint64{2, 4, 5}) || ds[0].Deliveries != 2 {
		t.Errorf("after reopen: %v (deliveries %d)", got, ds[0].Deliveries)
	}
	if err := e.m.DeleteConsumer("orders", "billing"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), 1, 0); !errors.Is(err, logs.ErrClosed) {
		t.Errorf("Fetch on deleted consumer: %v", err)
	}
	e.reopen()
	if li, _ := e.m.Info("orders"); len(li.Consumers) != 0 {
		t.Errorf("deleted consumer came back: %+v", li.Consumers)
	}
}

func TestFanOut(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.appendN("orders.eu", 4)
	a := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "a"})
	b := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "b"})
	ga, _ := fetch(t, a, 10)
	gb, _ := fetch(t, b, 10)
	if want := []uint64{1, 2, 3, 4}; !slices.Equal(ga, want) || !slices.Equal(gb, want) {
		t.Errorf("a %v, b %v", ga, gb)
	}
}

func TestRetentionGap(t *testing.T) {
	// Records removed by retention are skipped, pending or not.
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, MaxMsgs: 2})
	e.appendN("orders.eu", 2)
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w", AckWait: time.Second})
	fetch(t, c, 1)            // 1 pending
	e.appendN("orders.eu", 3) // keeps 4 and 5
	e.clk.Advance(time.Second)
	if got, _ := fetch(t, c, 10); !slices.Equal(got, []uint64{4, 5}) {
		t.Errorf("after retention: %v", got)
	}
}

func TestOpenConsumerAndAckBySeq(t *testing.T) {
	m, err := logs.Open(logs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Create(logs.LogConfig{Name: "o", Subjects: []string{"o.>"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := m.Append(context.Background(), "o.x", nil, []byte("p"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.OpenConsumer("o", "w"); !errors.Is(err, logs.ErrNotFound) {
		t.Fatalf("OpenConsumer of a missing consumer = %v, want logs.ErrNotFound", err)
	}
	c, err := m.Consumer(logs.ConsumerConfig{Log: "o", Name: "w", AckWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := c.Fetch(context.Background(), 3, 0); err != nil || len(ds) != 3 {
		t.Fatalf("Fetch = %d, %v", len(ds), err)
	}
	h, err := m.OpenConsumer("o", "w")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AckSeq(1); err != nil {
		t.Fatal(err)
	}
	if err := h.NakSeq(2); err != nil {
		t.Fatal(err)
	}
	ds, err := h.Fetch(context.Background(), 3, 0)
	if err != nil || len(ds) != 1 || ds[0].Seq() != 2 || ds[0].Deliveries != 2 {
		t.Fatalf("Fetch after nak = %+v, %v", ds, err)
	}
	if inf := h.Info(); inf.Pending != 2 || inf.AckFloor != 1 {
		t.Fatalf("Info = %+v", inf)
	}
}
