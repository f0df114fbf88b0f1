package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

func TestE2ELogPublishDurable(t *testing.T) {
	s := ferrytest.New(t)
	nc := dial(t, s)
	ctx := timeout(t, 10*time.Second)
	if err := nc.CreateLog(ctx, ferry.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, DedupeWindow: time.Minute}); err != nil {
		t.Fatal(err)
	}
	live := &inbox{}
	sub, err := nc.Subscribe("orders.>", live.add)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	for i := 1; i <= 3; i++ {
		ack, err := nc.PublishDurable(ctx, fmt.Sprintf("orders.%d", i), fmt.Appendf(nil, "order %d", i))
		if err != nil || ack.Seq != uint64(i) || ack.Receivers != 1 {
			t.Fatalf("PublishDurable %d = %+v, %v; want seq %d, 1 receiver", i, ack, err, i)
		}
	}
	eventually(t, "live deliveries", func() bool { return live.len() == 3 })

	// Not captured by any log: delivered live, but ErrNotStored.
	other := &inbox{}
	if _, err := nc.Subscribe("other", other.add); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ack, err := nc.PublishDurable(ctx, "other", []byte("x"))
	if !errors.Is(err, ferry.ErrNotStored) || ack.Seq != 0 || ack.Receivers != 1 {
		t.Fatalf("PublishDurable to an uncaptured subject = %+v, %v; want ErrNotStored with 1 receiver", ack, err)
	}
	eventually(t, "live delivery of the unstored message", func() bool { return other.len() == 1 })

	// Dedupe: the same message ID gets the same sequence and is not delivered again.
	m := &ferry.Msg{Subject: "orders.4", Data: []byte("order 4")}
	m.Header.Set(ferry.MsgIDHeader, "id-4")
	a1, err := nc.PublishMsgDurable(ctx, m)
	if err != nil || a1.Seq != 4 {
		t.Fatalf("first publish with an ID = %+v, %v; want seq 4", a1, err)
	}
	a2, err := nc.PublishMsgDurable(ctx, m)
	if err != nil || a2.Seq != 4 || a2.Receivers != 0 {
		t.Fatalf("duplicate publish = %+v, %v; want seq 4, 0 receivers", a2, err)
	}
	if err := nc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "live delivery of the ID'd message", func() bool { return live.len() == 4 })

	infos, err := nc.Logs(ctx)
	if err != nil || len(infos) != 1 || infos[0].Config.Name != "orders" || infos[0].Msgs != 4 {
		t.Fatalf("Logs = %+v, %v; want one log with 4 messages", infos, err)
	}
	info, err := nc.LogInfo(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if info.Msgs != 4 || info.FirstSeq != 1 || info.LastSeq != 4 || info.Bytes <= 0 ||
		info.Config.Storage != ferry.StorageFile || info.Config.Sync != ferry.SyncAlways ||
		len(info.Config.Subjects) != 1 || info.Config.Subjects[0] != "orders.>" || info.Config.DedupeWindow != time.Minute ||
		info.FirstTime.Before(start.Add(-time.Second)) || info.LastTime.Before(info.FirstTime) {
		t.Fatalf("LogInfo = %+v", info)
	}

	// An ephemeral consumer from the start reads everything, in order.
	recs, err := nc.Fetch(ctx, ferry.ConsumerConfig{Log: "orders", Start: "first"}, 10, 0)
	if err != nil || len(recs) != 4 {
		t.Fatalf("Fetch = %d records, %v; want 4", len(recs), err)
	}
	for i, r := range recs {
		n := i + 1
		if r.Seq != uint64(n) || r.Subject != fmt.Sprintf("orders.%d", n) || string(r.Data) != fmt.Sprintf("order %d", n) ||
			r.Log != "orders" || r.Consumer != "" || r.Deliveries != 1 || r.Time.Before(start.Add(-time.Second)) {
			t.Errorf("record %d = %+v", n, r)
		}
	}
	if got := recs[3].Header.Get(ferry.MsgIDHeader); got != "id-4" {
		t.Errorf("record 4 header %s = %q, want id-4", ferry.MsgIDHeader, got)
	}
	if err := recs[0].Ack(ctx); !errors.Is(err, ferry.ErrLogInvalid) {
		t.Errorf("Ack of an ephemeral record = %v, want ErrLogInvalid", err)
	}

	// A waiting fetch gets a record published meanwhile. It starts at the
	// next sequence, so it finds record 5 whichever comes first.
	var wg sync.WaitGroup
	wg.Add(1)
	var waited []*ferry.LogRecord
	var waitErr error
	go func() {
		defer wg.Done()
		waited, waitErr = nc.Fetch(ctx, ferry.ConsumerConfig{Log: "orders", Start: "seq:5"}, 1, 5*time.Second)
	}()
	if _, err := nc.PublishDurable(ctx, "orders.5", []byte("order 5")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if waitErr != nil || len(waited) != 1 || waited[0].Seq != 5 {
		t.Fatalf("waiting Fetch = %v, %v; want record 5", waited, waitErr)
	}
}

func TestE2ELogDurableConsumerRestart(t *testing.T) {
	s := ferrytest.New(t)
	nc := dial(t, s, ferry.WithReconnectWait(5*time.Millisecond, 50*time.Millisecond))
	ctx := timeout(t, 20*time.Second)
	if err := nc.CreateLog(ctx, ferry.LogConfig{Name: "orders", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := nc.PublishDurable(ctx, fmt.Sprintf("orders.%d", i), fmt.Appendf(nil, "order %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cc := ferry.ConsumerConfig{Log: "orders", Name: "billing", Ack: "each", AckWait: 200 * time.Millisecond}
	recs, err := nc.Fetch(ctx, cc, 2, 0)
	if err != nil || len(recs) != 2 || recs[0].Seq != 1 || recs[1].Seq != 2 || recs[0].Consumer != "billing" {
		t.Fatalf("Fetch = %+v, %v; want records 1 and 2 of billing", recs, err)
	}
	if err := recs[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := nc.LogInfo(ctx, "orders")
	if err != nil || len(info.Consumers) != 1 || info.Consumers[0] != "billing" ||
		!info.ConsumerDetails[0].Durable || info.ConsumerDetails[0].Ack != "each" || info.ConsumerDetails[0].AckWait != 200*time.Millisecond {
		t.Fatalf("LogInfo = %+v, %v; want the billing consumer", info, err)
	}

	s.Restart(t)
	// The connection reconnects by itself; retry until the fetch gets through
	// and the unacknowledged record 2 is due again.
	var again []*ferry.LogRecord
	eventually(t, "redelivery after restart", func() bool {
		again, err = nc.Fetch(ctx, cc, 1, 100*time.Millisecond)
		return err == nil && len(again) == 1
	})
	if r := again[0]; r.Seq != 2 || r.Deliveries != 2 || string(r.Data) != "order 2" || r.Consumer != "billing" {
		t.Fatalf("after restart got %+v; want record 2, delivery 2", r)
	}
	if err := again[0].Nak(ctx); err != nil {
		t.Fatal(err)
	}
	if err := nc.AckUpTo(ctx, "orders", "billing", 2); err != nil {
		t.Fatal(err)
	}
	next, err := nc.Fetch(ctx, cc, 10, 0)
	if err != nil || len(next) != 1 || next[0].Seq != 3 || next[0].Deliveries != 1 {
		t.Fatalf("Fetch after AckUpTo = %+v, %v; want record 3 only", next, err)
	}
}

func TestE2ELogErrors(t *testing.T) {
	s := ferrytest.New(t)
	nc := dial(t, s)
	ctx := timeout(t, 10*time.Second)
	cfg := ferry.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, Storage: ferry.StorageMemory}
	if err := nc.CreateLog(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := nc.CreateLog(ctx, cfg); !errors.Is(err, ferry.ErrLogExists) {
		t.Errorf("second CreateLog = %v, want ErrLogExists", err)
	}
	bad := ferry.LogConfig{Name: "bad", Subjects: []string{"bad.>"}, Sync: "sometimes"}
	var se *ferry.ServerError
	if err := nc.CreateLog(ctx, bad); !errors.Is(err, ferry.ErrLogInvalid) || !errors.As(err, &se) || se.Code != 114 {
		t.Errorf("CreateLog with a bad sync = %v, want ErrLogInvalid (114)", err)
	}
	if _, err := nc.Fetch(ctx, ferry.ConsumerConfig{Log: "nope"}, 1, 0); !errors.Is(err, ferry.ErrLogNotFound) {
		t.Errorf("Fetch from a missing log = %v, want ErrLogNotFound", err)
	}
	if err := nc.AckUpTo(ctx, "orders", "nobody", 1); !errors.Is(err, ferry.ErrLogNotFound) {
		t.Errorf("AckUpTo for a missing consumer = %v, want ErrLogNotFound", err)
	}
	if err := nc.DeleteLog(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.LogInfo(ctx, "orders"); !errors.Is(err, ferry.ErrLogNotFound) {
		t.Errorf("LogInfo after DeleteLog = %v, want ErrLogNotFound", err)
	}
	if err := nc.DeleteLog(ctx, "orders"); !errors.Is(err, ferry.ErrLogNotFound) {
		t.Errorf("second DeleteLog = %v, want ErrLogNotFound", err)
	}
	if infos, err := nc.Logs(ctx); err != nil || len(infos) != 0 {
		t.Errorf("Logs after delete = %+v, %v; want none", infos, err)
	}
}

func ExampleConn_PublishDurable() {
	s := startServer() // no data directory: logs are kept in memory
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if err := nc.CreateLog(ctx, ferry.LogConfig{Name: "orders", Subjects: []string{"orders.>"}}); err != nil {
		log.Fatal(err)
	}
	for _, item := range []string{"tea", "cake"} {
		ack, err := nc.PublishDurable(ctx, "orders.new", []byte(item))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("stored", item, "at", ack.Seq)
	}
	_, err = nc.PublishDurable(ctx, "chat", []byte("hi"))
	fmt.Println(errors.Is(err, ferry.ErrNotStored))

	recs, err := nc.Fetch(ctx, ferry.ConsumerConfig{Log: "orders", Name: "kitchen"}, 10, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Seq, r.Subject, string(r.Data))
		if err := r.Ack(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// stored tea at 1
	// stored cake at 2
	// true
	// 1 orders.new tea
	// 2 orders.new cake
}
