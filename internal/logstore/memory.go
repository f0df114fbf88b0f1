package logstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// MemoryLog is a Storage kept in memory: nothing survives Close. Retention
// is exact, record by record. It copies records in and out.
type MemoryLog struct {
	cfg Config

	mu       sync.RWMutex // guards the fields below
	recs     []Record     // recs[head:] are stored; recs[i].Seq == first + i - head
	head     int
	first    uint64 // FirstSeq
	bytes    int64
	lastTime time.Time
	dedupe   *dedupe
	closed   bool
}

// NewMemory returns an empty in-memory log. Only the dedupe, retention,
// record size and clock settings of cfg apply; an invalid cfg is an error.
func NewMemory(cfg Config) (*MemoryLog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &MemoryLog{cfg: cfg, first: 1, dedupe: newDedupe(cfg.DedupeWindow, cfg.DedupeMax)}, nil
}

// Append stores a copy of r.
func (m *MemoryLog) Append(ctx context.Context, r Record) (uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if n := r.Size(); n > m.cfg.MaxRecordBytes {
		return 0, false, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, m.cfg.MaxRecordBytes)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, false, ErrClosed
	}
	now := m.cfg.Clock.Now()
	if seq, ok := m.dedupe.lookup(r.MsgID, now); ok {
		return seq, true, nil
	}
	r = cloneRecord(r)
	r.Seq = m.first + uint64(len(m.recs)-m.head)
	r.Time = stampTime(r.Time, now, m.lastTime)
	m.lastTime = r.Time
	m.recs = append(m.recs, r)
	m.bytes += int64(r.Size())
	m.dedupe.add(r.MsgID, r.Seq, r.Time)
	m.applyRetention(now)
	return r.Seq, false, nil
}

// Read returns a copy of record seq.
func (m *MemoryLog) Read(seq uint64) (Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Record{}, ErrClosed
	}
	i, ok := m.index(seq)
	if !ok {
		return Record{}, fmt.Errorf("logstore: read %d: %w", seq, ErrNotFound)
	}
	return cloneRecord(m.recs[i]), nil
}

// ReadBatch returns copies of consecutive records; see Storage.
func (m *MemoryLog) ReadBatch(from uint64, maxMsgs, maxBytes int) ([]Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	from = max(from, m.first)
	i, ok := m.index(from)
	if !ok {
		return nil, nil
	}
	var out []Record
	size := 0
	for ; i < len(m.recs) && (maxMsgs <= 0 || len(out) < maxMsgs); i++ {
		n := m.recs[i].Size()
		if maxBytes > 0 && len(out) > 0 && size+n > maxBytes {
			break
		}
		size += n
		out = append(out, cloneRecord(m.recs[i]))
	}
	return out, nil
}

// SeqForTime binary-searches the records by time.
func (m *MemoryLog) SeqForTime(t time.Time) (uint64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, ErrClosed
	}
	live := m.recs[m.head:]
	i := sort.Search(len(live), func(i int) bool { return !live[i].Time.Before(t) })
	return m.first + uint64(i), nil
}

// State describes the log.
func (m *MemoryLog) State() State {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := uint64(len(m.recs) - m.head)
	st := State{FirstSeq: m.first, LastSeq: m.first + n - 1, Msgs: n, Bytes: m.bytes}
	if n > 0 {
		st.FirstTime, st.LastTime = m.recs[m.head].Time, m.recs[len(m.recs)-1].Time
	}
	return st
}

// ApplyRetention drops the oldest records beyond the limits.
func (m *MemoryLog) ApplyRetention() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.applyRetention(m.cfg.Clock.Now())
	return nil
}

// Close drops the records.
func (m *MemoryLog) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed, m.recs, m.head = true, nil, 0
	return nil
}

func (m *MemoryLog) applyRetention(now time.Time) {
	r := m.cfg.Retention
	for m.head < len(m.recs) {
		n := uint64(len(m.recs) - m.head)
		oldest := &m.recs[m.head]
		drop := r.MaxMsgs > 0 && n > r.MaxMsgs ||
			r.MaxBytes > 0 && m.bytes > r.MaxBytes ||
			r.MaxAge > 0 && now.Sub(oldest.Time) > r.MaxAge
		if !drop {
			break
		}
		m.bytes -= int64(oldest.Size())
		*oldest = Record{}
		m.head++
		m.first++
	}
	if m.head > 64 && m.head*2 > len(m.recs) {
		m.recs = append(m.recs[:0], m.recs[m.head:]...)
		m.head = 0
	}
}

func (m *MemoryLog) index(seq uint64) (int, bool) {
	if seq < m.first || seq-m.first >= uint64(len(m.recs)-m.head) {
		return 0, false
	}
	return m.head + int(seq-m.first), true
}

// stampTime returns the time to store: given, or now when zero, raised to
// last so that times never go backwards; monotonic readings are dropped.
func stampTime(given, now, last time.Time) time.Time {
	t := given
	if t.IsZero() {
		t = now
	}
	t = time.Unix(0, t.UnixNano()).UTC()
	if t.Before(last) {
		t = last
	}
	return t
}

func cloneRecord(r Record) Record {
	r.Headers = nilIfEmpty(append([]byte(nil), r.Headers...))
	r.Payload = nilIfEmpty(append([]byte(nil), r.Payload...))
	return r
}
