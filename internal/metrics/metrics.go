package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Set is one server's histograms. Observing is a few atomic operations.
type Set struct {
	requestLatency prometheus.Histogram
	appendLatency  prometheus.Histogram
	appendBytes    prometheus.Histogram
}

// latencyBuckets span 25µs to about 9.3s, each 2.5 times the one before.
var latencyBuckets = prometheus.ExponentialBuckets(25e-6, 2.5, 15)

// New returns a Set whose series are named ferry_*.
func New() *Set {
	return &Set{
		requestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ferry_request_latency_seconds",
			Help:    "Time from a request's publish to the first reply on its inbox, seen by the server.",
			Buckets: latencyBuckets,
		}),
		appendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ferry_log_append_seconds",
			Help:    "Time to store one captured message in the logs capturing it, under their sync policies (duplicates included).",
			Buckets: latencyBuckets,
		}),
		appendBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ferry_log_append_bytes",
			Help:    "Payload size of the messages stored in logs.",
			Buckets: prometheus.ExponentialBuckets(64, 4, 10), // 64 B to 16 MiB
		}),
	}
}

// Collectors returns the histograms, to register with a registry.
func (s *Set) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.requestLatency, s.appendLatency, s.appendBytes}
}

// Request records the latency of one request.
func (s *Set) Request(d time.Duration) {
	if s != nil {
		s.requestLatency.Observe(d.Seconds())
	}
}

// Append records one log append of size payload bytes that took d.
func (s *Set) Append(d time.Duration, size int) {
	if s != nil {
		s.appendLatency.Observe(d.Seconds())
		s.appendBytes.Observe(float64(size))
	}
}
