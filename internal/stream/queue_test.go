package stream

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// offer is what a transport does with a new message: straight to the
// writer when Direct allows, else into the queue.
func offer(q *Queue[int], v int, key string) string {
	if q.Direct() {
		return "direct"
	}
	return [...]string{"queued", "replaced", "dropped", "full"}[q.Push(v, key, 1)]
}

func waiting(q *Queue[int]) []int {
	var vs []int
	for i := q.head; i < len(q.held); i++ {
		vs = append(vs, q.held[i].v)
	}
	return vs
}

func TestQueuePolicies(t *testing.T) {
	// Each case offers messages 1..n with the given keys to a queue of
	// limit 2 whose writer never finishes, so two go direct and the rest
	// meet the policy.
	tests := []struct {
		name     string
		policy   Policy
		keys     string // one key per message
		outcomes []string
		waiting  []int
		dropped  uint64
	}{
		{"block", Block, "abcd", []string{"direct", "direct", "full", "full"}, nil, 0},
		{"drop newest", DropNewest, "abcde", []string{"direct", "direct", "queued", "queued", "dropped"}, []int{3, 4}, 1},
		{"drop oldest", DropOldest, "abcdef", []string{"direct", "direct", "queued", "queued", "queued", "queued"}, []int{5, 6}, 2},
		{"latest per key replaces in place", LatestPerKey, "xxabab", []string{"direct", "direct", "queued", "queued", "replaced", "replaced"}, []int{5, 6}, 2},
		{"latest per key drops the oldest key", LatestPerKey, "zzabca", []string{"direct", "direct", "queued", "queued", "queued", "queued"}, []int{5, 6}, 2},
		{"latest per key keeps position", LatestPerKey, "zzaba", []string{"direct", "direct", "queued", "queued", "replaced"}, []int{5, 4}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := NewQueue[int](tt.policy, 2)
			var got []string
			for i, k := range tt.keys {
				got = append(got, offer(q, i+1, string(k)))
			}
			if !slices.Equal(got, tt.outcomes) {
				t.Errorf("outcomes %v, want %v", got, tt.outcomes)
			}
			if w := waiting(q); !slices.Equal(w, tt.waiting) {
				t.Errorf("waiting %v, want %v", w, tt.waiting)
			}
			if q.Dropped() != tt.dropped || q.Bytes() != len(tt.waiting) || q.Len() != len(tt.waiting) {
				t.Errorf("dropped %d bytes %d len %d", q.Dropped(), q.Bytes(), q.Len())
			}
		})
	}
}

func TestQueueHandsWaitingAfterWrite(t *testing.T) {
	q := NewQueue[int](DropOldest, 2)
	for i := 1; i <= 5; i++ {
		offer(q, i, "")
	}
	if _, ok := q.Hand(); ok {
		t.Fatal("handed past the limit")
	}
	q.StartWrite()
	if offer(q, 6, "") != "queued" {
		t.Fatal("a message bypassed waiting ones")
	}
	q.Wrote()
	var handed []int
	for v, ok := q.Hand(); ok; v, ok = q.Hand() {
		handed = append(handed, v)
	}
	if !slices.Equal(handed, []int{5, 6}) || q.Handed() != 2 {
		t.Fatalf("handed %v (%d in all), want [5 6]", handed, q.Handed())
	}
	if n, ok := q.Report(); !ok || n != 2 {
		t.Fatalf("Report = %d %v, want 2 true", n, ok)
	}
	if _, ok := q.Report(); ok {
		t.Fatal("Report told the same drops twice")
	}
	q.StartWrite()
	q.Wrote()
	if !q.Direct() {
		t.Fatal("an empty, written queue refused a direct message")
	}
}

func TestQueuePopIgnoresLimit(t *testing.T) {
	q := NewQueue[int](DropNewest, 1)
	for i := 1; i <= 3; i++ {
		offer(q, i, "")
	}
	v, ok := q.Pop()
	if !ok || v != 2 || q.Len() != 0 || q.Handed() != 2 {
		t.Fatalf("Pop = %d %v, len %d handed %d", v, ok, q.Len(), q.Handed())
	}
}

// model is the naive specification of Queue: a slice scanned linearly.
type model struct {
	policy          Policy
	limit           int
	held            []slot[int]
	queued, writing int
	dropped         uint64
}

func (m *model) offer(v int, key string, size int) string {
	if len(m.held) == 0 && m.queued+m.writing < m.limit {
		m.queued++
		return "direct"
	}
	if m.policy == Block {
		return "full"
	}
	if m.policy == LatestPerKey {
		for i := range m.held {
			if m.held[i].key == key {
				m.held[i] = slot[int]{v, key, size}
				m.dropped++
				return "replaced"
			}
		}
	}
	if len(m.held) >= m.limit {
		m.dropped++
		if m.policy == DropNewest {
			return "dropped"
		}
		m.held = m.held[1:]
	}
	m.held = append(m.held, slot[int]{v, key, size})
	return "queued"
}

func (m *model) hand() (int, bool) {
	if len(m.held) == 0 || m.queued+m.writing >= m.limit {
		return 0, false
	}
	v := m.held[0].v
	m.held = m.held[1:]
	m.queued++
	return v, true
}

// TestQueueMatchesModel drives Queue and the model with the same random
// operations and compares every result and the waiting contents.
func TestQueueMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for run := range 400 {
		p := Policy(1 + r.IntN(4))
		limit := 1 + r.IntN([]int{6, 48}[run%2])
		q := NewQueue[int](p, limit)
		m := &model{policy: p, limit: limit}
		keys := 1 + r.IntN(8)
		for step := range 400 {
			what := ""
			switch op := r.IntN(10); {
			case op < 6:
				v, key, size := step, fmt.Sprint(r.IntN(keys)), 1+r.IntN(100)
				got := "direct"
				if !q.Direct() {
					got = [...]string{"queued", "replaced", "dropped", "full"}[q.Push(v, key, size)]
				}
				want := m.offer(v, key, size)
				what = fmt.Sprintf("offer %d key %s: %s, model %s", v, key, got, want)
				if got != want {
					t.Fatalf("run %d (%d, limit %d) step %d: %s", run, p, limit, step, what)
				}
			case op < 8:
				v, ok := q.Hand()
				mv, mok := m.hand()
				what = fmt.Sprintf("hand: %d %v, model %d %v", v, ok, mv, mok)
				if v != mv || ok != mok {
					t.Fatalf("run %d (%d, limit %d) step %d: %s", run, p, limit, step, what)
				}
			case op == 8:
				q.StartWrite()
				m.writing += m.queued
				m.queued = 0
			default:
				q.Wrote()
				m.writing = 0
			}
			want, bytes := []int(nil), 0
			for _, s := range m.held {
				want = append(want, s.v)
				bytes += s.size
			}
			if w := waiting(q); !slices.Equal(w, want) || q.Bytes() != bytes || q.Dropped() != m.dropped || q.Handed() != m.queued+m.writing {
				t.Fatalf("run %d (%d, limit %d) step %d after %s: waiting %v bytes %d dropped %d handed %d; model %v %d %d %d",
					run, p, limit, step, what, w, q.Bytes(), q.Dropped(), q.Handed(), want, bytes, m.dropped, m.queued+m.writing)
			}
			if q.Len() > limit || q.Handed() > limit || p == Block && q.Len() != 0 {
				t.Fatalf("run %d step %d: len %d handed %d past limit %d", run, step, q.Len(), q.Handed(), limit)
			}
		}
	}
}

func BenchmarkQueueLatestPerKey(b *testing.B) {
	q := NewQueue[int](LatestPerKey, 64)
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !q.Direct() {
			q.Push(i, keys[i%len(keys)], 1)
		}
		if i%3 == 0 {
			q.StartWrite()
			q.Wrote()
			q.Hand()
		}
		i++
	}
}
