package logs

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
	"github.com/ferrymq/ferry/internal/subject"
)

// Storage kinds for LogConfig.Storage.
const (
	StorageFile   = "file"
	StorageMemory = "memory"
)

// maxNameLen bounds log and consumer names; they become file names.
const maxNameLen = 64

// Config configures a Manager. The zero value works: memory only, the real
// clock, no logging, dead letters dropped.
type Config struct {
	// Dir is the data directory; "" keeps everything in memory.
	Dir    string
	Clock  clock.Clock  // default the real clock
	Logger *slog.Logger // default discards
	// Publish sends a message through the broker: dead letters, and push
	// deliveries when Deliver is nil. It must not call back into the
	// Manager synchronously. Nil drops such messages (logged at warning
	// level).
	Publish func(subject string, headers []byte, payload []byte)
	// Deliver sends a push consumer's record through the broker, in the
	// caller's order, and reports how many subscriptions it reached. It
	// may be set later with Manager.SetDeliver. Nil falls back to Publish,
	// which cannot tell whether anyone received the record: each push then
	// counts as delivered.
	Deliver DeliverFunc
}

// DeliverFunc publishes a message and returns how many receivers it
// reached. It runs on a push consumer's goroutine with no lock of the
// manager held, so it may publish on a subject a log captures.
type DeliverFunc func(subject string, headers, payload []byte) (int, error)

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// LogConfig defines one log. Zero Storage is file when the manager has a
// Dir and memory otherwise; zero Sync is "always"; zero limits are
// unlimited; zero DedupeWindow disables dedupe.
type LogConfig struct {
	Name         string        `json:"name"`
	Subjects     []string      `json:"subjects"`
	Storage      string        `json:"storage"`
	Sync         string        `json:"sync"`
	MaxAge       time.Duration `json:"max_age_ns,omitempty"`
	MaxBytes     int64         `json:"max_bytes,omitempty"`
	MaxMsgs      uint64        `json:"max_msgs,omitempty"`
	DedupeWindow time.Duration `json:"dedupe_window_ns,omitempty"`
}

func (c LogConfig) withDefaults(hasDir bool) LogConfig {
	if c.Storage == "" {
		c.Storage = StorageMemory
		if hasDir {
			c.Storage = StorageFile
		}
	}
	if c.Sync == "" {
		c.Sync = "always"
	}
	c.Subjects = append([]string(nil), c.Subjects...)
	return c
}

// validate reports every problem with c (after withDefaults), each wrapping
// ErrInvalid.
func (c LogConfig) validate(hasDir bool) error {
	if err := validateName("log", c.Name); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("logs: log %q: %w: %s", c.Name, ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(c.Subjects) == 0 {
		return bad("no subjects")
	}
	for _, p := range c.Subjects {
		if err := subject.ValidatePattern(p); err != nil {
			return fmt.Errorf("logs: log %q: %w: %w", c.Name, ErrInvalid, err)
		}
	}
	switch c.Storage {
	case StorageMemory:
	case StorageFile:
		if !hasDir {
			return bad("file storage needs a data directory")
		}
	default:
		return bad("storage %q: want file or memory", c.Storage)
	}
	if _, err := logstore.ParseSync(c.Sync); err != nil {
		return fmt.Errorf("logs: log %q: %w: %w", c.Name, ErrInvalid, err)
	}
	if c.MaxAge < 0 || c.MaxBytes < 0 || c.DedupeWindow < 0 {
		return bad("negative limit")
	}
	return nil
}

// storeConfig is the logstore configuration for c.
func (c LogConfig) storeConfig(m Config) logstore.Config {
	sync, _ := logstore.ParseSync(c.Sync) // validated
	return logstore.Config{
		Sync:         sync,
		Retention:    logstore.Retention{MaxAge: c.MaxAge, MaxBytes: c.MaxBytes, MaxMsgs: c.MaxMsgs},
		DedupeWindow: c.DedupeWindow,
		Clock:        m.Clock,
		Logger:       m.Logger.With("log", c.Name),
	}
}

// validateName accepts 1 to 64 bytes of ASCII letters, digits, '-' and '_':
// names become file names and subject tokens.
func validateName(what, name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("logs: %s name %q: %w: want 1 to %d characters", what, name, ErrInvalid, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("logs: %s name %q: %w: only letters, digits, '-' and '_'", what, name, ErrInvalid)
		}
	}
	return nil
}
