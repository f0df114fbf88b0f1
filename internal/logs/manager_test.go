package logs_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logs"
)

func TestCreateListDelete(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.create(logs.LogConfig{Name: "audit", Subjects: []string{"audit.*"}, Storage: logs.StorageMemory, Sync: "never"})
	var names []string
	for _, li := range e.m.List() {
		names = append(names, li.Config.Name)
	}
	if !slices.Equal(names, []string{"audit", "orders"}) {
		t.Fatalf("List names = %v", names)
	}
	li, err := e.m.Info("orders")
	if err != nil {
		t.Fatal(err)
	}
	if li.Config.Storage != logs.StorageFile || li.Config.Sync != "always" {
		t.Errorf("defaults: storage %q sync %q", li.Config.Storage, li.Config.Sync)
	}
	if err := e.m.Create(logs.LogConfig{Name: "orders", Subjects: []string{"x"}}); !errors.Is(err, logs.ErrExists) {
		t.Errorf("second Create: %v, want ErrExists", err)
	}
	if err := e.m.Delete("orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Info("orders"); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("Info after Delete: %v", err)
	}
	if e.m.Matches("orders.eu") {
		t.Error("deleted log still matches")
	}
	if err := e.m.Delete("orders"); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	// Recreating starts empty.
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	if li, _ := e.m.Info("orders"); li.State.LastSeq != 0 {
		t.Errorf("recreated log LastSeq = %d", li.State.LastSeq)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	ok := logs.LogConfig{Name: "x", Subjects: []string{"x.>"}}
	with := func(f func(*logs.LogConfig)) logs.LogConfig { c := ok; f(&c); return c }
	logTests := []struct {
		name string
		cfg  logs.LogConfig
		want error
	}{
		{"empty name", with(func(c *logs.LogConfig) { c.Name = "" }), logs.ErrInvalid},
		{"name with dot", with(func(c *logs.LogConfig) { c.Name = "a.b" }), logs.ErrInvalid},
		{"name with slash", with(func(c *logs.LogConfig) { c.Name = "../etc" }), logs.ErrInvalid},
		{"no subjects", with(func(c *logs.LogConfig) { c.Subjects = nil }), logs.ErrInvalid},
		{"bad pattern", with(func(c *logs.LogConfig) { c.Subjects = []string{"a.>.b"} }), logs.ErrInvalid},
		{"empty token", with(func(c *logs.LogConfig) { c.Subjects = []string{"a..b"} }), logs.ErrInvalid},
		{"unknown sync", with(func(c *logs.LogConfig) { c.Sync = "sometimes" }), logs.ErrInvalid},
		{"bad interval", with(func(c *logs.LogConfig) { c.Sync = "interval:-1s" }), logs.ErrInvalid},
		{"unknown storage", with(func(c *logs.LogConfig) { c.Storage = "tape" }), logs.ErrInvalid},
		{"file without dir", with(func(c *logs.LogConfig) { c.Storage = logs.StorageFile }), logs.ErrInvalid},
		{"negative age", with(func(c *logs.LogConfig) { c.MaxAge = -time.Second }), logs.ErrInvalid},
		{"exists", with(func(c *logs.LogConfig) { c.Name = "orders" }), logs.ErrExists},
	}
	for _, tc := range logTests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.m.Create(tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("Create: %v, want %v", err, tc.want)
			}
		})
	}
	consumerTests := []struct {
		name string
		cfg  logs.ConsumerConfig
		want error
	}{
		{"unknown log", logs.ConsumerConfig{Log: "nope"}, logs.ErrNotFound},
		{"bad consumer name", logs.ConsumerConfig{Log: "orders", Name: "a b"}, logs.ErrInvalid},
		{"bad ack mode", logs.ConsumerConfig{Log: "orders", Ack: 7}, logs.ErrInvalid},
		{"negative max deliveries", logs.ConsumerConfig{Log: "orders", MaxDeliveries: -1}, logs.ErrInvalid},
		{"wildcard dead letter", logs.ConsumerConfig{Log: "orders", DeadLetter: "dlq.>"}, logs.ErrInvalid},
		{"start seq 0", logs.ConsumerConfig{Log: "orders", Start: logs.StartAtSeq(0)}, logs.ErrInvalid},
	}
	for _, tc := range consumerTests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.m.Consumer(tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("Consumer: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := e.m.Append(context.Background(), "orders.*", nil, nil, ""); !errors.Is(err, logs.ErrInvalid) {
		t.Errorf("Append to a wildcard: %v", err)
	}
	if _, err := e.m.Info("nope"); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("Info unknown: %v", err)
	}
	if err := e.m.DeleteConsumer("orders", "nope"); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("DeleteConsumer unknown: %v", err)
	}
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w"})
	if _, err := c.Fetch(context.Background(), 0, 0); !errors.Is(err, logs.ErrInvalid) {
		t.Errorf("Fetch 0: %v", err)
	}
	if _, err := e.m.Consumer(logs.ConsumerConfig{Log: "orders", Name: "w", Ack: logs.AckNone}); !errors.Is(err, logs.ErrExists) {
		t.Errorf("reopen with another ack mode: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"first", "last", "new", "seq:5", "time:2026-03-01T12:00:00Z"} {
		p, err := logs.ParseStart(s)
		if err != nil || p.String() != s {
			t.Errorf("ParseStart(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"seq:0", "seq:x", "time:yesterday", "middle"} {
		if _, err := logs.ParseStart(s); !errors.Is(err, logs.ErrInvalid) {
			t.Errorf("ParseStart(%q): %v", s, err)
		}
	}
	for _, s := range []string{"none", "each", "cumulative"} {
		a, err := logs.ParseAckMode(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAckMode(%q) = %v, %v", s, a, err)
		}
	}
	if _, err := logs.ParseAckMode("some"); !errors.Is(err, logs.ErrInvalid) {
		t.Errorf("ParseAckMode(some): %v", err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, MaxMsgs: 1000, DedupeWindow: time.Minute})
	e.create(logs.LogConfig{Name: "scratch", Subjects: []string{"scratch"}, Storage: logs.StorageMemory})
	e.appendN("orders.eu", 3)
	e.appendN("scratch", 2)
	e.reopen()
	li, err := e.m.Info("orders")
	if err != nil {
		t.Fatal(err)
	}
	if li.State.LastSeq != 3 || li.Config.MaxMsgs != 1000 || li.Config.DedupeWindow != time.Minute {
		t.Errorf("after reopen: last %d config %+v", li.State.LastSeq, li.Config)
	}
	sc, err := e.m.Info("scratch")
	if err != nil || sc.State.LastSeq != 0 {
		t.Errorf("memory log after reopen: %+v, %v (defined, empty)", sc.State, err)
	}
	res, err := e.m.Append(context.Background(), "orders.us", nil, []byte("p4"), "")
	if err != nil || len(res) != 1 || res[0].Seq != 4 {
		t.Fatalf("append after reopen = %+v, %v", res, err)
	}
	c := e.consumer(logs.ConsumerConfig{Log: "orders"})
	got, ds := fetch(t, c, 10)
	if !slices.Equal(got, []uint64{1, 2, 3, 4}) || string(ds[0].Record.Payload) != "p1" || ds[0].Record.Subject != "orders.eu" {
		t.Errorf("records after reopen = %v", got)
	}
}

func TestClosedManager(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	c := e.consumer(logs.ConsumerConfig{Log: "orders", Name: "w"})
	e.m.Close()
	if _, err := c.Fetch(context.Background(), 1, 0); !errors.Is(err, logs.ErrClosed) {
		t.Errorf("Fetch after Close: %v", err)
	}
	if err := e.m.Create(logs.LogConfig{Name: "x", Subjects: []string{"x"}}); !errors.Is(err, logs.ErrClosed) {
		t.Errorf("Create after Close: %v", err)
	}
}
