package logs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logs"
	"github.com/ferrymq/ferry/internal/wire"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// published is one message the manager sent through Config.Publish.
type published struct {
	Subject string
	Headers map[string]string
	Payload string
}

// env is one test's manager, clock and outbox.
type env struct {
	t   *testing.T
	dir string
	clk *clock.Fake
	m   *logs.Manager

	mu  sync.Mutex // guards out
	out []published
}

// newEnv opens a manager on dir ("" for memory only) with a fake clock.
func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	e := &env{t: t, dir: dir, clk: clock.NewFake(t0)}
	e.open()
	return e
}

func (e *env) open() {
	e.t.Helper()
	m, err := logs.Open(logs.Config{Dir: e.dir, Clock: e.clk, Publish: e.publish})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.m = m
	e.t.Cleanup(func() { m.Close() })
}

// reopen closes the manager and opens a new one on the same directory.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.m.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

func (e *env) publish(subj string, hdr, payload []byte) {
	hs, err := wire.ParseHeaders(hdr)
	if err != nil {
		e.t.Errorf("publish %s: bad headers: %v", subj, err)
	}
	p := published{Subject: subj, Headers: map[string]string{}, Payload: string(payload)}
	for _, h := range hs {
		p.Headers[h.Key] = h.Value
	}
	e.mu.Lock()
	e.out = append(e.out, p)
	e.mu.Unlock()
}

func (e *env) outbox() []published {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]published(nil), e.out...)
}

func (e *env) create(cfg logs.LogConfig) {
	e.t.Helper()
	if err := e.m.Create(cfg); err != nil {
		e.t.Fatalf("Create %s: %v", cfg.Name, err)
	}
}

// appendN appends payloads "p1".."pN" on subj.
func (e *env) appendN(subj string, n int) {
	e.t.Helper()
	for i := 1; i <= n; i++ {
		if _, err := e.m.Append(context.Background(), subj, nil, fmt.Appendf(nil, "p%d", i), ""); err != nil {
			e.t.Fatalf("Append: %v", err)
		}
	}
}

func (e *env) consumer(cfg logs.ConsumerConfig) *logs.Consumer {
	e.t.Helper()
	c, err := e.m.Consumer(cfg)
	if err != nil {
		e.t.Fatalf("Consumer: %v", err)
	}
	return c
}

// fetch fetches without waiting and returns the sequences.
func fetch(t *testing.T, c *logs.Consumer, max int) ([]uint64, []logs.Delivery) {
	t.Helper()
	ds, err := c.Fetch(context.Background(), max, 0)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return seqs(ds), ds
}

func seqs(ds []logs.Delivery) []uint64 {
	out := []uint64{}
	for _, d := range ds {
		out = append(out, d.Seq())
	}
	return out
}
