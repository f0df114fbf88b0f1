package stream

// Policy says what a subscription's Queue does when messages arrive faster
// than its connection writes them. The values are the wire protocol's SUB
// backpressure byte; 0 (disconnect) needs no queue.
type Policy uint8

// Backpressure policies.
const (
	Block        Policy = 1 // hold nothing: the caller waits for room
	DropNewest   Policy = 2 // a full queue drops the incoming message
	DropOldest   Policy = 3 // a full queue drops its oldest waiting message
	LatestPerKey Policy = 4 // one waiting message per key, replaced in place; then as DropOldest
)

// Valid reports whether p is a policy a Queue implements.
func (p Policy) Valid() bool { return p >= Block && p <= LatestPerKey }

// Outcome is what Push did with a message.
type Outcome uint8

// Push outcomes.
const (
	Queued   Outcome = iota // the message waits (an older one may have been dropped for it)
	Replaced                // the message took the place of the waiting one with its key
	Dropped                 // the message itself was dropped
	Full                    // Block: nothing was stored; wait for room
)

// Queue is the per-subscription accounting of a message pipeline with two
// stages: messages handed to the connection's writer (queued in its next
// buffer, or in the buffer being written) and, behind them, messages
// waiting in the queue itself. Handed messages are committed: they are
// written unless the connection dies. Waiting messages are the ones a
// policy may drop or replace.
//
// Invariants: at most limit messages are handed and not yet written (Pop,
// for a final flush, is the exception), and at most limit wait (none for
// Block); messages keep their arrival order
// except that LatestPerKey replaces a waiting message in place; a message
// only bypasses the queue (Direct) when nothing waits.
//
// A Queue is not safe for concurrent use; the connection's lock guards it.
type Queue[T any] struct {
	policy Policy
	limit  int

	held    []slot[T] // waiting messages, oldest at held[head]
	head    int
	headSeq uint64            // arrival number of held[head]
	keys    map[string]uint64 // LatestPerKey: key → arrival number of its waiting message
	bytes   int               // sum of the waiting messages' sizes

	queued  int // handed messages in the writer's next buffer
	writing int // handed messages in the buffer being written

	dropped  uint64 // messages dropped or replaced, cumulative
	reported uint64 // dropped as last reported to the subscriber
}

type slot[T any] struct {
	v    T
	key  string
	size int
}

// NewQueue returns an empty queue; a limit below 1 is taken as 1.
func NewQueue[T any](p Policy, limit int) *Queue[T] {
	q := &Queue[T]{policy: p, limit: max(limit, 1)}
	if p == LatestPerKey {
		q.keys = make(map[string]uint64)
	}
	return q
}

// Policy returns the queue's policy.
func (q *Queue[T]) Policy() Policy { return q.policy }

// Limit returns the queue's limit.
func (q *Queue[T]) Limit() int { return q.limit }

// Len returns the number of waiting messages.
func (q *Queue[T]) Len() int { return len(q.held) - q.head }

// Bytes returns the sum of the waiting messages' sizes.
func (q *Queue[T]) Bytes() int { return q.bytes }

// Handed returns the number of messages handed to the writer and not yet
// written.
func (q *Queue[T]) Handed() int { return q.queued + q.writing }

// Dropped returns the number of messages dropped (or replaced) so far.
func (q *Queue[T]) Dropped() uint64 { return q.dropped }

// Direct reports whether a new message may bypass the queue and go straight
// to the writer: nothing waits and fewer than limit messages are handed.
// When it returns true the message is counted as handed.
func (q *Queue[T]) Direct() bool {
	if q.Len() > 0 || q.Handed() >= q.limit {
		return false
	}
	q.queued++
	return true
}

// Push queues a message that Direct refused, applying the policy when the
// queue is full. key matters only for LatestPerKey; size is added to Bytes.
// A Block queue stores nothing and returns Full.
func (q *Queue[T]) Push(v T, key string, size int) Outcome {
	switch q.policy {
	case Block:
		return Full
	case LatestPerKey:
		if seq, ok := q.keys[key]; ok {
			s := &q.held[q.head+int(seq-q.headSeq)]
			q.bytes += size - s.size
			s.v, s.size = v, size
			q.dropped++
			return Replaced
		}
	}
	if q.Len() >= q.limit {
		if q.policy == DropNewest {
			q.dropped++
			return Dropped
		}
		q.pop()
		q.dropped++
	}
	if q.keys != nil {
		q.keys[key] = q.headSeq + uint64(q.Len())
	}
	q.held = append(q.held, slot[T]{v: v, key: key, size: size})
	q.bytes += size
	return Queued
}

// Hand hands the oldest waiting message to the writer when fewer than
// limit messages are handed, and reports whether it did.
func (q *Queue[T]) Hand() (T, bool) {
	if q.Len() == 0 || q.Handed() >= q.limit {
		var zero T
		return zero, false
	}
	q.queued++
	return q.pop(), true
}

// Pop hands the oldest waiting message to the writer whatever the limit;
// it is for a final flush before the connection closes.
func (q *Queue[T]) Pop() (T, bool) {
	if q.Len() == 0 {
		var zero T
		return zero, false
	}
	q.queued++
	return q.pop(), true
}

// pop removes the oldest waiting message.
func (q *Queue[T]) pop() T {
	s := q.held[q.head]
	q.held[q.head] = slot[T]{}
	q.head++
	q.headSeq++
	q.bytes -= s.size
	if q.keys != nil {
		delete(q.keys, s.key)
	}
	switch n := q.Len(); {
	case n == 0 && cap(q.held) > 64:
		q.held, q.head = nil, 0 // release a burst's backing array
	case n == 0:
		q.held, q.head = q.held[:0], 0
	case q.head >= 32 && q.head >= n:
		q.held = q.held[:copy(q.held, q.held[q.head:])]
		clear(q.held[n : n+q.head])
		q.head = 0
	}
	return s.v
}

// StartWrite records that the writer took its next buffer for writing: the
// messages queued in it are now being written.
func (q *Queue[T]) StartWrite() {
	q.writing += q.queued
	q.queued = 0
}

// Wrote records that the buffer being written has been written.
func (q *Queue[T]) Wrote() { q.writing = 0 }

// Report returns the cumulative drop count to tell the subscriber with the
// message being handed, and whether there is anything new to tell; it
// marks the count as told.
func (q *Queue[T]) Report() (uint64, bool) {
	if q.dropped == q.reported {
		return 0, false
	}
	q.reported = q.dropped
	return q.dropped, true
}

// Discard counts a message the caller dropped without offering it to the
// queue (it did not fit a bound the caller keeps, such as the
// connection's pending bytes); it is reported like the queue's own drops.
func (q *Queue[T]) Discard() { q.dropped++ }
