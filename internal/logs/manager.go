package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/subject"
)

// Manager holds the logs and their consumers. It is safe for concurrent use.
type Manager struct {
	cfg Config
	idx *subject.Index[*logEntry] // subject pattern -> log; has its own lock

	mu     sync.RWMutex // guards logs and closed; held while logs.json is written
	logs   map[string]*logEntry
	closed bool

	deliver atomic.Pointer[DeliverFunc] // push deliveries; nil falls back to cfg.Publish
}

// LogInfo describes a log: its definition, its storage state and its
// consumers (sorted by name).
type LogInfo struct {
	Config    LogConfig
	State     logstore.State
	Consumers []ConsumerInfo
}

// Open loads the log definitions and durable consumers from cfg.Dir and
// opens each log's storage. With cfg.Dir empty it returns an empty,
// memory-only manager.
func Open(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	m := &Manager{cfg: cfg, idx: subject.NewIndex[*logEntry](), logs: map[string]*logEntry{}}
	if cfg.Deliver != nil {
		m.SetDeliver(cfg.Deliver)
	}
	if cfg.Dir == "" {
		return m, nil
	}
	if err := makeDirDurable(cfg.Dir); err != nil {
		return nil, fmt.Errorf("logs: open: %w", err)
	}
	defs, err := readDefs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	for _, lc := range defs {
		if err := m.load(lc); err != nil {
			m.Close()
			return nil, err
		}
	}
	// Pushers start only once every log loaded: a failed Open has none,
	// so its Close cannot wait on a delivery the caller is not ready for.
	for _, e := range m.logs {
		for _, s := range e.consumers {
			m.startPusher(s)
		}
	}
	return m, nil
}

// load opens one defined log and its durable consumers.
func (m *Manager) load(lc LogConfig) error {
	lc = lc.withDefaults(true)
	if err := lc.validate(true); err != nil {
		return fmt.Errorf("logs: %s: %w", defsFile, err)
	}
	e, err := m.openLog(lc)
	if err != nil {
		return err
	}
	m.logs[lc.Name] = e
	if err := m.index(e); err != nil {
		return err
	}
	if lc.Storage != StorageFile {
		return nil // a memory log starts empty; old positions mean nothing
	}
	docs, err := readConsumers(m.consumerDir(lc.Name))
	if err != nil {
		return fmt.Errorf("logs: log %q: %w", lc.Name, err)
	}
	for _, d := range docs {
		if err := m.restoreConsumer(e, d); err != nil {
			return err
		}
	}
	return nil
}

// openLog opens the storage of a validated log config.
func (m *Manager) openLog(lc LogConfig) (*logEntry, error) {
	sc := lc.storeConfig(m.cfg)
	var (
		st  logstore.Storage
		err error
	)
	if lc.Storage == StorageFile {
		st, err = logstore.OpenFile(m.logDir(lc.Name), sc)
	} else {
		st, err = logstore.NewMemory(sc)
	}
	if err != nil {
		return nil, fmt.Errorf("logs: open log %q: %w", lc.Name, err)
	}
	return newLogEntry(lc, st), nil
}

func (m *Manager) index(e *logEntry) error {
	for _, p := range e.cfg.Subjects {
		if err := m.idx.Insert(p, e); err != nil {
			return fmt.Errorf("logs: log %q: %w: %w", e.cfg.Name, ErrInvalid, err)
		}
	}
	return nil
}

func (m *Manager) unindex(e *logEntry) {
	for _, p := range e.cfg.Subjects {
		m.idx.Remove(p, e)
	}
}

func (m *Manager) logDir(name string) string { return filepath.Join(m.cfg.Dir, logsDir, name) }

func (m *Manager) consumerDir(log string) string {
	return filepath.Join(m.cfg.Dir, consumersDir, log)
}

// Create defines a new log and opens its storage. A log whose subjects
// capture a push consumer's deliver subject is ErrInvalid.
func (m *Manager) Create(cfg LogConfig) error {
	hasDir := m.cfg.Dir != ""
	cfg = cfg.withDefaults(hasDir)
	if err := cfg.validate(hasDir); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.logs[cfg.Name]; ok {
		return fmt.Errorf("logs: create %q: %w", cfg.Name, ErrExists)
	}
	if err := m.checkDeliverSubjectsLocked(cfg); err != nil {
		return err
	}
	if cfg.Storage == StorageFile {
		// Leftovers of a delete interrupted after logs.json was rewritten.
		os.RemoveAll(m.logDir(cfg.Name))
		os.RemoveAll(m.consumerDir(cfg.Name))
	}
	e, err := m.openLog(cfg)
	if err != nil {
		return err
	}
	m.logs[cfg.Name] = e
	if err = m.saveDefsLocked(); err == nil {
		err = m.index(e)
	}
	if err != nil {
		delete(m.logs, cfg.Name)
		m.unindex(e)
		e.close()
		return err
	}
	return nil
}

// Delete removes a log, its consumers and its data. Fetches waiting on it
// return ErrClosed.
func (m *Manager) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.logs[name]
	if !ok {
		return fmt.Errorf("logs: delete %q: %w", name, ErrNotFound)
	}
	delete(m.logs, name)
	if err := m.saveDefsLocked(); err != nil {
		m.logs[name] = e
		return err
	}
	m.unindex(e)
	err := e.close()
	if m.cfg.Dir != "" {
		err = errors.Join(err, os.RemoveAll(m.logDir(name)), os.RemoveAll(m.consumerDir(name)))
	}
	if err != nil {
		return fmt.Errorf("logs: delete %q: %w", name, err)
	}
	return nil
}

// checkDeliverSubjectsLocked refuses a new log whose subjects capture an
// existing push consumer's deliver subject (see Consumer); m.mu must be
// held.
func (m *Manager) checkDeliverSubjectsLocked(cfg LogConfig) error {
	for _, e := range m.logs {
		e.mu.Lock()
		for _, s := range e.consumers {
			for _, p := range cfg.Subjects {
				if s.cfg.Push() && subject.Match(p, s.cfg.DeliverSubject) {
					e.mu.Unlock()
					return fmt.Errorf("logs: create %q: %w: subject %q captures the deliver subject %q of push consumer %q on %q",
						cfg.Name, ErrInvalid, p, s.cfg.DeliverSubject, s.name, e.cfg.Name)
				}
			}
		}
		e.mu.Unlock()
	}
	return nil
}

// saveDefsLocked writes logs.json from m.logs; m.mu must be held.
func (m *Manager) saveDefsLocked() error {
	if m.cfg.Dir == "" {
		return nil
	}
	cfgs := make([]LogConfig, 0, len(m.logs))
	for _, e := range m.logs {
		cfgs = append(cfgs, e.cfg)
	}
	return writeDefs(m.cfg.Dir, cfgs)
}

// List describes every log, sorted by name.
func (m *Manager) List() []LogInfo {
	m.mu.RLock()
	entries := make([]*logEntry, 0, len(m.logs))
	for _, e := range m.logs {
		entries = append(entries, e)
	}
	m.mu.RUnlock()
	slices.SortFunc(entries, func(a, b *logEntry) int { return strings.Compare(a.cfg.Name, b.cfg.Name) })
	out := make([]LogInfo, len(entries))
	for i, e := range entries {
		out[i] = e.info()
	}
	return out
}

// Info describes one log.
func (m *Manager) Info(name string) (LogInfo, error) {
	e, err := m.log(name)
	if err != nil {
		return LogInfo{}, err
	}
	return e.info(), nil
}

func (m *Manager) log(name string) (*logEntry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	e, ok := m.logs[name]
	if !ok {
		return nil, fmt.Errorf("logs: log %q: %w", name, ErrNotFound)
	}
	return e, nil
}

// Close closes every log and consumer and waits for the push consumers'
// goroutines to return. Durable state is already on disk.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	for _, e := range m.logs {
		m.unindex(e)
		errs = append(errs, e.close())
	}
	return errors.Join(errs...)
}
