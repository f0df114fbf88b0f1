package logstore

import "time"

// dedupe remembers the MsgIDs stored within a window and their sequences.
// It is bounded: past max entries the oldest are forgotten early. Not safe
// for concurrent use; its owner locks.
type dedupe struct {
	window int64 // nanoseconds; 0 disables
	max    int
	ids    map[string]dedupeEntry
	order  []dedupeItem // insertion (and so time) order from head
	head   int
}

type dedupeEntry struct {
	seq uint64
	at  int64 // record time, unix nanos
}

type dedupeItem struct {
	id string
	dedupeEntry
}

func newDedupe(window time.Duration, max int) *dedupe {
	return &dedupe{window: int64(window), max: max, ids: make(map[string]dedupeEntry)}
}

// lookup returns the sequence id was stored at, if that is within the
// window before now.
func (d *dedupe) lookup(id string, now time.Time) (uint64, bool) {
	if d.window == 0 || id == "" {
		return 0, false
	}
	n := now.UnixNano()
	d.expire(n)
	e, ok := d.ids[id]
	if !ok || n-e.at >= d.window {
		return 0, false
	}
	return e.seq, true
}

// add remembers id as stored at seq with record time at.
func (d *dedupe) add(id string, seq uint64, at time.Time) {
	if d.window == 0 || id == "" {
		return
	}
	e := dedupeEntry{seq: seq, at: at.UnixNano()}
	d.ids[id] = e
	d.order = append(d.order, dedupeItem{id: id, dedupeEntry: e})
	for len(d.ids) > d.max {
		d.pop()
	}
}

// expire forgets the entries that fell out of the window before now.
func (d *dedupe) expire(now int64) {
	for d.head < len(d.order) && now-d.order[d.head].at >= d.window {
		d.pop()
	}
}

func (d *dedupe) pop() {
	it := d.order[d.head]
	d.order[d.head] = dedupeItem{}
	d.head++
	if e, ok := d.ids[it.id]; ok && e.seq == it.seq {
		delete(d.ids, it.id)
	}
	if d.head > 1024 && d.head*2 > len(d.order) {
		d.order = append(d.order[:0], d.order[d.head:]...)
		d.head = 0
	}
}

func (d *dedupe) len() int { return len(d.ids) }
