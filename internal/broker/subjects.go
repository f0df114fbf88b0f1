package broker

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTrackedSubjects is how many subjects the broker counts messages
// for when Config.TrackedSubjects is 0.
const DefaultTrackedSubjects = 1024

// SubjectRate is a subject's message count and recent rate.
type SubjectRate struct {
	Subject string  `json:"subject"`
	Rate    float64 `json:"rate"`  // messages per second between the last two reads
	Total   uint64  `json:"total"` // messages since the subject was first tracked
}

type subjectCount struct {
	n    atomic.Uint64 // added by publishers
	prev uint64        // n at the last read; guarded by subjectRates.rmu
	rate float64       // guarded by subjectRates.rmu
}

// subjectRates counts messages per subject for at most max subjects. The
// publish path reads an immutable map without a lock and adds one to the
// subject's counter. A subject not in it yet is counted in a small locked
// map, which is merged into a new immutable map when it holds
// promoteBatch subjects, when promoteAfter has passed, or on a read. When
// max subjects are tracked, new ones are not counted until a read drops
// the ones that went quiet.
type subjectRates struct {
	max    int
	cur    atomic.Pointer[map[string]*subjectCount] // replaced whole under mu
	size   atomic.Int64                             // len(cur) + len(fresh)
	nfresh atomic.Int64                             // len(fresh)

	mu       sync.Mutex // guards fresh, promoted, and replacing cur
	fresh    map[string]*subjectCount
	promoted time.Time

	rmu      sync.Mutex // serialises reads; guards last, readOnce, top and the counts' prev and rate
	last     time.Time
	readOnce bool
	top      []SubjectRate // every tracked subject, by rate, from the last read
}

// inboxPrefix starts the reply subjects clients create for requests.
var inboxPrefix = []byte("_INBOX.")

const (
	promoteBatch = 32
	promoteAfter = 100 * time.Millisecond
)

func (s *subjectRates) count(subj []byte) {
	if bytes.HasPrefix(subj, inboxPrefix) {
		return // replies to requests: one subject each, noise in a top list
	}
	if m := s.cur.Load(); m != nil {
		if c := (*m)[bytesToString(subj)]; c != nil {
			c.n.Add(1)
			return
		}
	}
	if s.size.Load() >= int64(s.max) && s.nfresh.Load() == 0 {
		return
	}
	s.countNew(subj)
}

func (s *subjectRates) countNew(subj []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Another publisher may have promoted it since count looked.
	if m := s.cur.Load(); m != nil {
		if c := (*m)[bytesToString(subj)]; c != nil {
			c.n.Add(1)
			return
		}
	}
	c := s.fresh[bytesToString(subj)]
	if c == nil {
		if s.size.Load() >= int64(s.max) {
			s.promoteLocked(false)
			return
		}
		if s.fresh == nil {
			s.fresh = make(map[string]*subjectCount)
		}
		c = new(subjectCount)
		s.fresh[string(subj)] = c
		s.size.Add(1)
		s.nfresh.Add(1)
	}
	c.n.Add(1)
	s.promoteLocked(false)
}

// promoteLocked moves the fresh subjects into a new immutable map, when
// due or when forced.
func (s *subjectRates) promoteLocked(force bool) {
	if len(s.fresh) == 0 {
		return
	}
	now := time.Now()
	if !force && len(s.fresh) < promoteBatch && now.Sub(s.promoted) < promoteAfter {
		return
	}
	s.promoted = now
	next := make(map[string]*subjectCount, len(s.fresh))
	if m := s.cur.Load(); m != nil {
		maps.Copy(next, *m)
	}
	maps.Copy(next, s.fresh)
	s.fresh = nil
	s.nfresh.Store(0)
	s.cur.Store(&next)
}

// minRateWindow is the shortest time between two reads that recompute
// the rates; reads closer together share the last result, so several
// dashboards polling at once do not measure over tiny windows.
const minRateWindow = 900 * time.Millisecond

// read returns the k subjects with the highest rates (then totals).
func (s *subjectRates) read(now time.Time, k int) []SubjectRate {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if !s.readOnce || now.Sub(s.last) >= minRateWindow {
		s.recompute(now)
	}
	out := make([]SubjectRate, min(k, len(s.top)))
	copy(out, s.top)
	return out
}

func (s *subjectRates) recompute(now time.Time) {
	dt := now.Sub(s.last).Seconds()
	first := !s.readOnce
	s.last, s.readOnce = now, true
	s.mu.Lock() // held while next is built: the slow path of count waits, the fast path does not
	s.promoteLocked(true)
	next := make(map[string]*subjectCount)
	if m := s.cur.Load(); m != nil {
		maps.Copy(next, *m)
	}
	s.top = s.top[:0]
	prune := len(next) > s.max/2
	for subj, c := range next {
		n := c.n.Load()
		d := n - c.prev
		if prune && d == 0 && c.prev != 0 {
			delete(next, subj) // quiet since the last read: make room
			continue
		}
		c.rate = 0
		if !first && dt > 0 {
			c.rate = float64(d) / dt
		}
		c.prev = n
		s.top = append(s.top, SubjectRate{Subject: subj, Rate: c.rate, Total: n})
	}
	s.cur.Store(&next)
	s.size.Store(int64(len(next)))
	s.mu.Unlock()
	slices.SortFunc(s.top, func(a, b SubjectRate) int {
		return cmp.Or(cmp.Compare(b.Rate, a.Rate), cmp.Compare(b.Total, a.Total), cmp.Compare(a.Subject, b.Subject))
	})
}

// TopSubjects returns up to k subjects with the highest message rates,
// then totals. Rates are measured between two reads at least about a
// second apart; the first read reports totals with rate 0. At most
// Config.TrackedSubjects subjects are counted at a time.
func (b *Broker) TopSubjects(k int) []SubjectRate {
	if b.subjects.max <= 0 {
		return nil
	}
	return b.subjects.read(b.cfg.Clock.Now(), k)
}
