package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func sample(t *testing.T, c prometheus.Collector) (count uint64, sum float64) {
	t.Helper()
	var m dto.Metric
	if err := c.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

func TestSet(t *testing.T) {
	s := New()
	s.Request(3 * time.Millisecond)
	s.Append(2*time.Millisecond, 100)
	s.Append(time.Millisecond, 28)
	cs := s.Collectors()
	for _, tt := range []struct {
		name  string
		c     prometheus.Collector
		count uint64
		sum   float64
	}{
		{"request latency", cs[0], 1, 0.003},
		{"append latency", cs[1], 2, 0.003},
		{"append bytes", cs[2], 2, 128},
	} {
		if n, sum := sample(t, tt.c); n != tt.count || sum < tt.sum-1e-9 || sum > tt.sum+1e-9 {
			t.Errorf("%s: %d samples summing to %v, want %d and %v", tt.name, n, sum, tt.count, tt.sum)
		}
	}
}

func TestNilSetRecordsNothing(t *testing.T) {
	var s *Set
	s.Request(time.Second)
	s.Append(time.Second, 10)
}
