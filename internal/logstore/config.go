package logstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
)

// Defaults and hard limits.
const (
	// MaxRecordBytes caps one encoded record: a 64 MiB payload (the broker's
	// hard cap) plus 1 MiB for subject, headers, message ID and framing.
	MaxRecordBytes = 65 << 20

	DefaultMaxSegmentBytes = 64 << 20
	DefaultIndexEvery      = 4 << 10
	DefaultDedupeMax       = 1 << 18
)

// SyncMode says when appended records reach stable storage.
type SyncMode int

// Sync modes.
const (
	// SyncAlways acknowledges an append after an fsync covering it; concurrent
	// appends share one fsync (group commit). The default.
	SyncAlways SyncMode = iota
	// SyncInterval acknowledges after the write and fsyncs every Interval.
	SyncInterval
	// SyncNever leaves flushing to the operating system.
	SyncNever
)

// SyncPolicy is a sync mode and, for SyncInterval, its period.
type SyncPolicy struct {
	Mode     SyncMode
	Interval time.Duration
}

// ParseSync reads "always", "never" or "interval:DURATION" (e.g. "interval:200ms").
func ParseSync(s string) (SyncPolicy, error) {
	switch {
	case s == "always":
		return SyncPolicy{Mode: SyncAlways}, nil
	case s == "never":
		return SyncPolicy{Mode: SyncNever}, nil
	case strings.HasPrefix(s, "interval:"):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "interval:"))
		if err != nil {
			return SyncPolicy{}, fmt.Errorf("logstore: sync %q: %w", s, err)
		}
		p := SyncPolicy{Mode: SyncInterval, Interval: d}
		if err := p.validate(); err != nil {
			return SyncPolicy{}, err
		}
		return p, nil
	}
	return SyncPolicy{}, fmt.Errorf("logstore: sync %q: want always, never or interval:DURATION", s)
}

// String is the form ParseSync reads.
func (p SyncPolicy) String() string {
	switch p.Mode {
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	case SyncInterval:
		return "interval:" + p.Interval.String()
	}
	return fmt.Sprintf("SyncMode(%d)", int(p.Mode))
}

func (p SyncPolicy) validate() error {
	switch p.Mode {
	case SyncAlways, SyncNever:
		return nil
	case SyncInterval:
		if p.Interval <= 0 {
			return fmt.Errorf("logstore: sync interval %v must be positive", p.Interval)
		}
		return nil
	}
	return fmt.Errorf("logstore: unknown sync mode %d", int(p.Mode))
}

// Retention bounds a log. Zero fields are unlimited. Limits are floors of
// what is kept: a FileLog frees space a whole sealed segment at a time, so
// it may hold up to one segment more than a limit.
type Retention struct {
	MaxAge   time.Duration
	MaxBytes int64
	MaxMsgs  uint64
}

// Config configures a log. The zero value works.
type Config struct {
	Sync      SyncPolicy // default SyncAlways
	Retention Retention
	// DedupeWindow is how long a MsgID is remembered; 0 disables dedupe.
	DedupeWindow time.Duration
	// DedupeMax bounds the remembered MsgIDs (default 262144); past it the
	// oldest are forgotten early.
	DedupeMax int
	// MaxSegmentBytes rolls to a new segment past this size (default 64 MiB).
	MaxSegmentBytes int64
	// IndexEvery puts a sparse index entry every this many bytes (default 4 KiB).
	IndexEvery int
	// MaxRecordBytes caps one encoded record (default and ceiling MaxRecordBytes).
	MaxRecordBytes int
	// TrustSealed makes OpenFile check sealed segments through their index
	// instead of reading them whole: a faster start, but damage in them is
	// found only when read. The default verifies every record.
	TrustSealed bool
	Clock       clock.Clock  // default the real clock
	FS          FS           // default the operating system's
	Logger      *slog.Logger // default discards
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	var errs []error
	if err := c.Sync.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Retention.MaxAge < 0 || c.Retention.MaxBytes < 0 {
		errs = append(errs, errors.New("logstore: negative retention limit"))
	}
	if c.DedupeWindow < 0 || c.DedupeMax < 0 {
		errs = append(errs, errors.New("logstore: negative dedupe setting"))
	}
	if c.MaxSegmentBytes < 0 || c.IndexEvery < 0 {
		errs = append(errs, errors.New("logstore: negative segment or index size"))
	}
	if c.MaxRecordBytes < 0 || c.MaxRecordBytes > MaxRecordBytes {
		errs = append(errs, fmt.Errorf("logstore: MaxRecordBytes %d outside [0, %d]", c.MaxRecordBytes, MaxRecordBytes))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.DedupeMax == 0 {
		c.DedupeMax = DefaultDedupeMax
	}
	if c.MaxSegmentBytes == 0 {
		c.MaxSegmentBytes = DefaultMaxSegmentBytes
	}
	if c.IndexEvery == 0 {
		c.IndexEvery = DefaultIndexEvery
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = MaxRecordBytes
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.FS == nil {
		c.FS = OSFS{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
