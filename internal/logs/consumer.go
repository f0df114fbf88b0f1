package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
)

// Consumer is one client's handle on a consumer. Handles on the same named
// consumer share its position: concurrent Fetch calls split the records.
type Consumer struct {
	s      *consumerState
	closed atomic.Bool
}

// ConsumerInfo describes a consumer.
type ConsumerInfo struct {
	Name      string
	Durable   bool
	Config    ConsumerConfig
	Delivered uint64 // the highest sequence delivered at least once
	AckFloor  uint64 // every sequence at or below it is done
	Pending   int    // delivered, not yet acknowledged
}

// consumerState is the shared state of one consumer.
type consumerState struct {
	m       *Manager
	log     *logEntry
	name    string
	cfg     ConsumerConfig
	durable bool
	path    string // state file; "" when not persisted

	saveMu  sync.Mutex // serialises state file writes, so the last one wins; guards dirMade
	dirMade bool       // the state file's directory exists durably

	mu      sync.Mutex // guards the fields below
	next    uint64     // the next new sequence to deliver
	pending map[uint64]*pending
	timer   clock.Timer // fires at timerAt, the earliest pending deadline
	timerAt time.Time
	notify  chan struct{} // closed when redeliveries fall due or on an ack; nil when nobody waits
	closed  bool

	collects atomic.Int64 // collect passes, for tests

	stop     chan struct{} // closed by close
	pushDone chan struct{} // closed when the pusher returns; nil for a pull consumer
}

// pending is a delivered, unacknowledged record.
type pending struct {
	deliveries int
	due        time.Time // when it is due again
}

// Consumer opens a consumer on cfg.Log. A named consumer is created on
// first use (starting at cfg.Start) and shared afterwards; opening it with
// a different ack mode, ack wait, max deliveries or dead-letter subject
// fails with ErrExists. Durable consumers of file logs keep their position
// across restarts. Creating a push consumer whose deliver subject any log
// captures is ErrInvalid.
func (m *Manager) Consumer(cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Name != "" {
		if err := validateName("consumer", cfg.Name); err != nil {
			return nil, err
		}
	}
	// m.mu stays read-locked so that no log is created between the deliver
	// subject check and the consumer's creation.
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	e, ok := m.logs[cfg.Log]
	if !ok {
		return nil, fmt.Errorf("logs: log %q: %w", cfg.Log, ErrNotFound)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	name := cfg.Name
	if name == "" {
		e.ephemeral++
		name = "_eph" + strconv.Itoa(e.ephemeral)
	}
	cfg = cfg.withDefaults(name)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if s, ok := e.consumers[name]; ok {
		if !cfg.sameAs(s.cfg) {
			return nil, fmt.Errorf("logs: consumer %q on %q: %w with a different configuration", name, cfg.Log, ErrExists)
		}
		return &Consumer{s: s}, nil // one made before the rule below stays usable
	}
	// A deliver subject captured by a log would store every delivery
	// again (and each retry to nobody once more), and a Ferry-Msg-Id
	// would make every retry after the first a duplicate reaching nobody.
	if cfg.Push() {
		if in := m.idx.Match(cfg.DeliverSubject); len(in) > 0 {
			return nil, fmt.Errorf("logs: consumer %q on %q: %w: log %q captures its deliver subject %q", name, cfg.Log, ErrInvalid, in[0].cfg.Name, cfg.DeliverSubject)
		}
	}
	next, err := m.startSeq(e, cfg.Start)
	if err != nil {
		return nil, err
	}
	s := m.newState(e, name, cfg, next)
	if err := s.save(); err != nil {
		return nil, err
	}
	e.consumers[name] = s
	m.startPusher(s)
	return &Consumer{s: s}, nil
}

func (m *Manager) newState(e *logEntry, name string, cfg ConsumerConfig, next uint64) *consumerState {
	s := &consumerState{m: m, log: e, name: name, cfg: cfg, durable: cfg.Name != "", next: next,
		pending: map[uint64]*pending{}, stop: make(chan struct{})}
	if s.durable && e.cfg.Storage == StorageFile {
		s.path = filepath.Join(m.consumerDir(e.cfg.Name), name+".json")
	}
	return s
}

// startSeq resolves a start position to the first sequence to deliver.
func (m *Manager) startSeq(e *logEntry, p StartPos) (uint64, error) {
	st := e.store.State()
	switch p.kind {
	case startLast:
		if st.LastSeq >= st.FirstSeq {
			return st.LastSeq, nil
		}
		return st.FirstSeq, nil
	case startNew:
		return st.LastSeq + 1, nil
	case startSeq:
		return max(p.seq, st.FirstSeq), nil
	case startTime:
		seq, err := e.store.SeqForTime(p.time)
		if err != nil {
			return 0, fmt.Errorf("logs: log %q: start at time: %w", e.cfg.Name, err)
		}
		return seq, nil
	}
	return st.FirstSeq, nil
}

// restoreConsumer rebuilds a durable consumer from its state file. Its
// pending records are due at once.
func (m *Manager) restoreConsumer(e *logEntry, d consumerDoc) error {
	cfg := d.Config
	if err := validateName("consumer", cfg.Name); err != nil {
		return err
	}
	cfg = cfg.withDefaults(cfg.Name)
	if err := cfg.validate(); err != nil {
		return err
	}
	s := m.newState(e, cfg.Name, cfg, max(d.Next, 1))
	now := m.cfg.Clock.Now()
	for _, p := range d.Pending {
		if p.Seq < s.next {
			s.pending[p.Seq] = &pending{deliveries: p.Deliveries, due: now}
		}
	}
	e.consumers[cfg.Name] = s
	s.mu.Lock()
	s.scheduleLocked(now)
	s.mu.Unlock()
	return nil // Open starts the pusher once every log loaded
}

// OpenConsumer returns a new handle on the existing named consumer name of
// log, whatever its configuration; ErrNotFound when there is none.
func (m *Manager) OpenConsumer(log, name string) (*Consumer, error) {
	e, err := m.log(log)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.consumers[name]
	if !ok || !s.durable {
		return nil, fmt.Errorf("logs: consumer %q on %q: %w", name, log, ErrNotFound)
	}
	return &Consumer{s: s}, nil
}

// DeleteConsumer removes a named consumer and its state; its handles then
// fail with ErrClosed.
func (m *Manager) DeleteConsumer(log, name string) error {
	e, err := m.log(log)
	if err != nil {
		return err
	}
	e.mu.Lock()
	s, ok := e.consumers[name]
	if ok {
		delete(e.consumers, name)
	}
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("logs: consumer %q on %q: %w", name, log, ErrNotFound)
	}
	s.close()
	s.waitPusher()
	if s.path != "" {
		s.saveMu.Lock()
		defer s.saveMu.Unlock()
		if err := os.Remove(s.path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("logs: delete consumer %q: %w", name, err)
		}
	}
	return nil
}

// Name returns the consumer's name (generated for an ephemeral one).
func (c *Consumer) Name() string { return c.s.name }

// Info describes the consumer.
func (c *Consumer) Info() ConsumerInfo { return c.s.info() }

// Close releases the handle. Closing an ephemeral consumer's handle removes
// the consumer; a durable consumer stays.
func (c *Consumer) Close() error {
	if c.closed.Swap(true) || c.s.durable {
		return nil
	}
	e := c.s.log
	e.mu.Lock()
	if e.consumers[c.s.name] == c.s {
		delete(e.consumers, c.s.name)
	}
	e.mu.Unlock()
	c.s.close()
	c.s.waitPusher()
	return nil
}

func (s *consumerState) info() ConsumerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ConsumerInfo{
		Name: s.name, Durable: s.durable, Config: s.cfg,
		Delivered: s.next - 1, AckFloor: s.ackFloorLocked(), Pending: len(s.pending),
	}
}

// ackFloorLocked is one below the lowest pending sequence, or the last
// delivered one when nothing is pending.
func (s *consumerState) ackFloorLocked() uint64 {
	floor := s.next - 1
	for seq := range s.pending {
		floor = min(floor, seq-1)
	}
	return floor
}

// close stops the timer and wakes waiting fetchers, which then see ErrClosed.
func (s *consumerState) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.stop)
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.wakeLocked()
}

func (s *consumerState) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify == nil {
		s.notify = make(chan struct{})
		if s.closed {
			close(s.notify)
		}
	}
	return s.notify
}

func (s *consumerState) wakeLocked() {
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
}
