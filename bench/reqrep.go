package main

import (
	"fmt"
	"slices"
	"time"
)

// maxSamples bounds the latencies kept per run (exact percentiles come
// from sorting them).
const maxSamples = 200_000

// runReqRep: sequential requests from one connection to one echo
// responder on another; latency percentiles in microseconds.
func runReqRep(b broker, cfg config, size int) (map[string]float64, error) {
	s := &session{b: b}
	defer s.close()
	resp, err := s.connect(connOpts{})
	if err != nil {
		return nil, err
	}
	if err := resp.respond("bench.echo"); err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	req, err := s.connect(connOpts{})
	if err != nil {
		return nil, err
	}
	payload := make([]byte, size)
	one := func() (time.Duration, error) {
		ctx, cancel := ctxTimeout(5 * time.Second)
		defer cancel()
		t := time.Now()
		err := req.request(ctx, "bench.echo", payload)
		return time.Since(t), err
	}
	for range 100 { // warm up connections and caches
		if _, err := one(); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
	}
	lat := make([]float64, 0, 4096)
	start := time.Now()
	deadline := start.Add(cfg.duration)
	for len(lat) < maxSamples {
		if cfg.msgs > 0 && len(lat) >= cfg.msgs {
			break
		}
		if cfg.msgs <= 0 && time.Now().After(deadline) {
			break
		}
		if time.Since(start) > maxRunTime {
			return nil, fmt.Errorf("%d requests in %v, gave up", len(lat), maxRunTime)
		}
		d, err := one()
		if err != nil {
			return nil, fmt.Errorf("request #%d: %w", len(lat)+1, err)
		}
		lat = append(lat, float64(d.Nanoseconds())/1e3)
	}
	el := time.Since(start).Seconds()
	if err := s.asyncErr(); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	return map[string]float64{
		mP50: percentile(lat, 50), mP90: percentile(lat, 90), mP99: percentile(lat, 99),
		mRate: float64(len(lat)) / el,
	}, nil
}
