package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Durable scenario: publishes acknowledged once stored.

// Sync modes of Ferry's log in the durable rows.
const (
	syncAlways   = "always"
	syncInterval = "interval:100ms"
)

// runDurable: cfg.durPubs publishers, each on its own connection,
// publish sequentially to a subject a log (Ferry) or stream (JetStream)
// captures, each waiting for its acknowledgement before the next
// publish. With -msgs, the count is the total over the publishers.
// Returns acknowledged msgs/s (all publishers) and ack latency
// percentiles in microseconds.
func runDurable(b broker, cfg config, size int, syncMode string) (map[string]float64, error) {
	s := &session{b: b}
	defer s.close()
	const subject = "bench.durable"
	admin, err := s.connect(connOpts{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := ctxTimeout(10 * time.Second)
	err = admin.createLog(ctx, "BENCH", subject, syncMode)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	pubs := max(cfg.durPubs, 1)
	conns := make([]client, pubs)
	for i := range conns {
		if conns[i], err = s.connect(connOpts{}); err != nil {
			return nil, err
		}
	}
	payload := make([]byte, size)
	one := func(cl client) (time.Duration, error) {
		ctx, cancel := ctxTimeout(5 * time.Second)
		defer cancel()
		t := time.Now()
		err := cl.publishDurable(ctx, subject, payload)
		return time.Since(t), err
	}
	for _, cl := range conns { // warm up every connection
		for range 5 {
			if _, err := one(cl); err != nil {
				return nil, fmt.Errorf("durable publish: %w", err)
			}
		}
	}
	perPub := 0 // messages per publisher with -msgs
	if cfg.msgs > 0 {
		perPub = max(cfg.msgs/pubs, 1)
	}
	keep := max(maxSamples/pubs, 1) // latencies kept per publisher
	lats := make([][]float64, pubs)
	counts := make([]int, pubs)
	errs := make([]error, pubs)
	var wg sync.WaitGroup
	start := time.Now()
	deadline, hard := start.Add(cfg.duration), start.Add(maxRunTime)
	for i, cl := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]float64, 0, min(keep, 4096))
			for n := 0; ; n++ {
				if perPub > 0 && n >= perPub {
					break
				}
				now := time.Now()
				if perPub == 0 && now.After(deadline) {
					break
				}
				if now.After(hard) {
					errs[i] = fmt.Errorf("publisher %d: %d acknowledged in %v, gave up", i, n, maxRunTime)
					break
				}
				d, err := one(cl)
				if err != nil {
					errs[i] = fmt.Errorf("publisher %d, durable publish #%d: %w", i, n+1, err)
					break
				}
				counts[i]++
				if len(lat) < keep {
					lat = append(lat, float64(d.Nanoseconds())/1e3)
				}
			}
			lats[i] = lat
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := s.asyncErr(); err != nil {
		return nil, err
	}
	var all []float64
	total := 0
	for i := range lats {
		all = append(all, lats[i]...)
		total += counts[i]
	}
	slices.Sort(all)
	return map[string]float64{
		mMsgs: float64(total) / el, mP50: percentile(all, 50), mP99: percentile(all, 99),
	}, nil
}
