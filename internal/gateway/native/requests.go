package native

import (
	"bytes"
	"hash/maphash"
	"sync"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/metrics"
)

// inboxPrefix starts the reply subjects of requests whose latency the
// gateway measures: the inboxes clients create for Request.
var inboxPrefix = []byte("_INBOX.")

const (
	requestShards = 16
	// requestMaxPerShard bounds one generation of one shard; requests
	// beyond it are not measured.
	requestMaxPerShard = 1 << 14
	// requestRotate is how long a generation lasts: a request unanswered
	// for between one and two of these is forgotten.
	requestRotate = 30 * time.Second
)

// requestTimes measures request latency on the server: the time from a
// request's publish to the first publish on its reply inbox. Entries live
// in two generations per shard, so unanswered requests cost memory for at
// most two rotations. A nil *requestTimes measures nothing.
type requestTimes struct {
	set    *metrics.Set
	base   time.Time // times are durations since base (monotonic)
	seed   maphash.Seed
	shards [requestShards]requestShard
}

type requestShard struct {
	mu       sync.Mutex
	cur, old map[string]time.Duration
	rotated  time.Duration
	_        [32]byte // keep shards on separate cache lines
}

func newRequestTimes(set *metrics.Set) *requestTimes {
	if set == nil {
		return nil
	}
	return &requestTimes{set: set, base: time.Now(), seed: maphash.MakeSeed()}
}

func (r *requestTimes) shard(reply []byte) *requestShard {
	return &r.shards[maphash.Bytes(r.seed, reply)%requestShards]
}

// start notes that a request with this reply subject is being published.
func (r *requestTimes) start(reply []byte) {
	if r == nil || !bytes.HasPrefix(reply, inboxPrefix) {
		return
	}
	now := time.Since(r.base)
	s := r.shard(reply)
	s.mu.Lock()
	if s.cur == nil || now-s.rotated >= requestRotate {
		s.old, s.cur, s.rotated = s.cur, make(map[string]time.Duration), now
	}
	if len(s.cur) < requestMaxPerShard {
		s.cur[string(reply)] = now
	}
	s.mu.Unlock()
}

// forget drops a request that reached nobody.
func (r *requestTimes) forget(reply []byte) {
	if r == nil || !bytes.HasPrefix(reply, inboxPrefix) {
		return
	}
	s := r.shard(reply)
	s.mu.Lock()
	delete(s.cur, string(reply))
	delete(s.old, string(reply))
	s.mu.Unlock()
}

// reply records the latency of the request answered by a publish on
// subject, if subject is the inbox of one being measured. A decline is not
// an answer: an anycast request fails over and is answered later.
func (r *requestTimes) reply(subject, headers []byte) {
	if r == nil || !bytes.HasPrefix(subject, inboxPrefix) || broker.Declined(headers) {
		return
	}
	now := time.Since(r.base)
	s := r.shard(subject)
	s.mu.Lock()
	t, ok := s.cur[string(subject)]
	if ok {
		delete(s.cur, string(subject))
	} else if t, ok = s.old[string(subject)]; ok {
		delete(s.old, string(subject))
	}
	s.mu.Unlock()
	// A shard without new requests does not rotate: an entry older than
	// two generations is forgotten here instead.
	if ok && now-t < 2*requestRotate {
		r.set.Request(now - t)
	}
}
