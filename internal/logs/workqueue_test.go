package logs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logs"
)

func TestWorkQueue(t *testing.T) {
	const records, workers = 500, 8
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "jobs", Subjects: []string{"jobs.*"}})
	e.appendN("jobs.new", records)
	var (
		mu   sync.Mutex // guards seen
		seen = map[uint64]int{}
		wg   sync.WaitGroup
	)
	for range workers {
		c := e.consumer(logs.ConsumerConfig{Log: "jobs", Name: "workers"}) // one handle per client
		wg.Go(func() {
			for {
				ds, err := c.Fetch(context.Background(), 7, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				for _, d := range ds {
					mu.Lock()
					seen[d.Seq()]++
					mu.Unlock()
					if err := c.Ack(d); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != records {
		t.Errorf("%d distinct records delivered, want %d", len(seen), records)
	}
	for seq, n := range seen {
		if n != 1 {
			t.Errorf("record %d delivered %d times", seq, n)
		}
	}
	if li, _ := e.m.Info("jobs"); len(li.Consumers) != 1 || li.Consumers[0].AckFloor != records {
		t.Errorf("consumer info %+v", li.Consumers)
	}
}

// TestFetchWaits checks that a waiting Fetch returns on an append, on its
// timeout (fake clock) and on deletion of the log.
func TestFetchWaits(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w"})
	type result struct {
		ds  []logs.Delivery
		err error
	}
	start := func() chan result {
		ch := make(chan result, 1)
		go func() {
			ds, err := c.Fetch(context.Background(), 10, time.Minute)
			ch <- result{ds, err}
		}()
		return ch
	}
	await := func(ch chan result) result {
		t.Helper()
		select {
		case r := <-ch:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("Fetch did not return")
			return result{}
		}
	}
	// An append wakes it. The fetcher may or may not be waiting yet; either way it gets the record.
	ch := start()
	e.appendN("orders.eu", 1)
	if r := await(ch); r.err != nil || len(r.ds) != 1 {
		t.Errorf("woken by append: %+v", r)
	}
	// The timeout fires on the fake clock once the fetcher armed it.
	c.AckUpTo(1)
	ch = start()
	waitFor(t, func() bool { return e.clk.Pending() >= 2 }) // the ack-wait timer and the fetch timeout
	e.clk.Advance(time.Minute - time.Nanosecond)
	select {
	case r := <-ch:
		t.Fatalf("returned before the timeout: %+v", r)
	default:
	}
	e.clk.Advance(time.Nanosecond)
	if r := await(ch); r.err != nil || len(r.ds) != 0 {
		t.Errorf("timeout: %+v", r)
	}
	// Deleting the log ends the wait with ErrClosed.
	ch = start()
	e.m.Delete("orders")
	if r := await(ch); !errors.Is(r.err, logs.ErrClosed) {
		t.Errorf("after Delete: %+v", r)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}
