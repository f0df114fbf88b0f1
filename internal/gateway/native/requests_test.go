package native

import (
	"strconv"
	"testing"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/metrics"
	"github.com/ferrymq/ferry/internal/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// observed returns how many request latencies set has recorded.
func observed(t *testing.T, set *metrics.Set) uint64 {
	t.Helper()
	var m dto.Metric
	if err := set.Collectors()[0].(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// rotate starts a request on another inbox of reply's shard, which
// rotates the shard's generations when their time has come.
func rotate(r *requestTimes, reply []byte) {
	for i := 0; ; i++ {
		other := []byte("_INBOX.other." + strconv.Itoa(i))
		if r.shard(other) == r.shard(reply) {
			r.start(other)
			return
		}
	}
}

func TestRequestTimes(t *testing.T) {
	declined := wire.AppendHeaders(nil, []wire.HeaderField{{Key: broker.StatusHeader, Value: broker.StatusDeclined}})
	tests := []struct {
		name string
		run  func(r *requestTimes)
		want uint64
	}{
		{"answered", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.reply([]byte("_INBOX.a.1"), nil)
		}, 1},
		{"only the first reply counts", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.reply([]byte("_INBOX.a.1"), nil)
			r.reply([]byte("_INBOX.a.1"), nil)
		}, 1},
		{"reached nobody", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.forget([]byte("_INBOX.a.1"))
			r.reply([]byte("_INBOX.a.1"), nil)
		}, 0},
		{"not an inbox", func(r *requestTimes) {
			r.start([]byte("replies.here"))
			r.reply([]byte("replies.here"), nil)
		}, 0},
		{"answered after a rotation", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.base = r.base.Add(-requestRotate) // a generation has passed
			rotate(r, []byte("_INBOX.a.1"))
			r.reply([]byte("_INBOX.a.1"), nil)
		}, 1},
		{"a decline is not an answer", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.reply([]byte("_INBOX.a.1"), declined)
		}, 0},
		{"the answer after a decline", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.reply([]byte("_INBOX.a.1"), declined)
			r.reply([]byte("_INBOX.a.1"), wire.AppendHeaders(nil, []wire.HeaderField{{Key: "Other", Value: "x"}}))
		}, 1},
		{"forgotten in a shard that did not rotate", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			r.base = r.base.Add(-2 * requestRotate)
			r.reply([]byte("_INBOX.a.1"), nil)
		}, 0},
		{"forgotten after two rotations", func(r *requestTimes) {
			r.start([]byte("_INBOX.a.1"))
			for range 2 {
				r.base = r.base.Add(-requestRotate)
				rotate(r, []byte("_INBOX.a.1"))
			}
			r.reply([]byte("_INBOX.a.1"), nil)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := metrics.New()
			tt.run(newRequestTimes(set))
			if got := observed(t, set); got != tt.want {
				t.Errorf("observed %d latencies, want %d", got, tt.want)
			}
		})
	}
}

func TestRequestTimesBounded(t *testing.T) {
	r := newRequestTimes(metrics.New())
	for i := range requestShards * requestMaxPerShard * 2 {
		r.start([]byte("_INBOX.n." + strconv.Itoa(i)))
	}
	total := 0
	for i := range r.shards {
		total += len(r.shards[i].cur) + len(r.shards[i].old)
	}
	if total > requestShards*requestMaxPerShard {
		t.Fatalf("%d requests remembered, bound %d", total, requestShards*requestMaxPerShard)
	}
}

func TestRequestTimesNil(t *testing.T) {
	var r *requestTimes = newRequestTimes(nil)
	r.start([]byte("_INBOX.a"))
	r.reply([]byte("_INBOX.a"), nil)
	r.forget([]byte("_INBOX.a"))
}
