package main

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/ferrymq/ferry/server"
)

// serveConfig is everything "ferry serve" is configured with.
type serveConfig struct {
	Server server.Options // zero fields take the server's defaults
	// HTTP is the HTTP listener's address (health, metrics, JSON API):
	// DefaultHTTP unless set; "off" or "" disables it. serve copies it to
	// Server.HTTPListen, which an embedded server leaves empty.
	HTTP      string
	LogLevel  slog.Level
	LogFormat string // "text" or "json"
}

// DefaultHTTP is the default address of "ferry serve"'s HTTP listener.
const DefaultHTTP = "127.0.0.1:7480"

// httpListen is the server's HTTPListen for the http setting: "" when it
// is "off" or empty.
func (c serveConfig) httpListen() string {
	if strings.EqualFold(strings.TrimSpace(c.HTTP), "off") {
		return ""
	}
	return strings.TrimSpace(c.HTTP)
}

// kind says which raw values a setting accepts.
type kind int

const (
	kindString   kind = iota // a string
	kindNumber               // an integer, or a string for sizes such as "64KiB"
	kindDuration             // a string such as "2s"
)

// setting is one configuration key: its TOML name (the environment variable
// is FERRY_ + upper case, the flag -- + dashes) and how to apply a value.
type setting struct {
	key  string
	kind kind
	set  func(c *serveConfig, v string) error
}

// settings lists every key, in the order of testdata/ferry.toml.
var settings = []setting{
	stringSetting("listen", func(c *serveConfig) *string { return &c.Server.Listen }),
	stringSetting("data", func(c *serveConfig) *string { return &c.Server.DataDir }),
	stringSetting("name", func(c *serveConfig) *string { return &c.Server.Name }),
	stringSetting("http", func(c *serveConfig) *string { return &c.HTTP }),
	sizeSetting("max_payload", func(c *serveConfig) *int { return &c.Server.MaxPayload }),
	sizeSetting("max_headers", func(c *serveConfig) *int { return &c.Server.MaxHeaders }),
	sizeSetting("max_subject_bytes", func(c *serveConfig) *int { return &c.Server.MaxSubjectBytes }),
	countSetting("max_subject_tokens", func(c *serveConfig) *int { return &c.Server.MaxSubjectTokens }),
	countSetting("max_subs_per_conn", func(c *serveConfig) *int { return &c.Server.MaxSubsPerConn }),
	sizeSetting("max_pending", func(c *serveConfig) *int { return &c.Server.MaxPending }),
	countSetting("max_conns", func(c *serveConfig) *int { return &c.Server.MaxConns }),
	durationSetting("handshake_timeout", func(c *serveConfig) *time.Duration { return &c.Server.HandshakeTimeout }),
	durationSetting("write_timeout", func(c *serveConfig) *time.Duration { return &c.Server.WriteTimeout }),
	durationSetting("ping_interval", func(c *serveConfig) *time.Duration { return &c.Server.PingInterval }),
	countSetting("max_pings_out", func(c *serveConfig) *int { return &c.Server.MaxPingsOut }),
	countSetting("max_attempts", func(c *serveConfig) *int { return &c.Server.MaxAttempts }),
	durationSetting("stall_timeout", func(c *serveConfig) *time.Duration { return &c.Server.StallTimeout }),
	{key: "log_level", kind: kindString, set: func(c *serveConfig, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{key: "log_format", kind: kindString, set: func(c *serveConfig, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("%q is not text or json", v)
		}
		c.LogFormat = v
		return nil
	}},
}

func stringSetting(key string, field func(*serveConfig) *string) setting {
	return setting{key, kindString, func(c *serveConfig, v string) error {
		*field(c) = v
		return nil
	}}
}

func sizeSetting(key string, field func(*serveConfig) *int) setting {
	return setting{key, kindNumber, func(c *serveConfig, v string) (err error) {
		*field(c), err = parseSize(v)
		return err
	}}
}

func countSetting(key string, field func(*serveConfig) *int) setting {
	return setting{key, kindNumber, func(c *serveConfig, v string) error {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 0)
		if err != nil || n > math.MaxInt {
			return fmt.Errorf("%q is not a non-negative integer", v)
		}
		*field(c) = int(n)
		return nil
	}}
}

func durationSetting(key string, field func(*serveConfig) *time.Duration) setting {
	return setting{key, kindDuration, func(c *serveConfig, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 2s or 500ms", v)
		}
		if d < 0 {
			return fmt.Errorf("%q is negative", v)
		}
		*field(c) = d
		return nil
	}}
}

func envName(key string) string  { return "FERRY_" + strings.ToUpper(key) }
func flagName(key string) string { return "--" + flagKey(key) }

// flagKey is the name of the flag for a configuration key, without dashes.
func flagKey(key string) string { return strings.ReplaceAll(key, "_", "-") }

// loadConfig builds the serve configuration from, by increasing precedence:
// defaults, the TOML file at path (or FERRY_CONFIG when path is empty; none
// when both are empty), the FERRY_* environment variables, and flags, which
// maps keys to the values of the flags given on the command line.
func loadConfig(path string, lookupEnv func(string) (string, bool), flags map[string]string) (serveConfig, error) {
	c := serveConfig{LogLevel: slog.LevelInfo, LogFormat: "text", HTTP: DefaultHTTP}
	if path == "" {
		path, _ = lookupEnv("FERRY_CONFIG")
	}
	if path != "" {
		if err := applyFile(&c, path); err != nil {
			return c, err
		}
	}
	for _, s := range settings {
		if v, ok := lookupEnv(envName(s.key)); ok && v != "" {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("%s: %w", envName(s.key), err)
			}
		}
	}
	for _, s := range settings {
		if v, ok := flags[s.key]; ok {
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("%s: %w", flagName(s.key), err)
			}
		}
	}
	if err := c.Server.Validate(); err != nil {
		return c, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// applyFile applies the settings of a TOML file; unknown keys are an error.
func applyFile(c *serveConfig, path string) error {
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.key] = true
		v, ok := raw[s.key]
		if !ok {
			continue
		}
		str, err := tomlString(s.kind, v)
		if err == nil {
			err = s.set(c, str)
		}
		if err != nil {
			return fmt.Errorf("config %s: %s: %w", path, s.key, err)
		}
	}
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !known[k] {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("config %s: unknown key %s", path, strings.Join(unknown, ", "))
	}
	return nil
}

// tomlString turns a decoded TOML value into the string form a setting
// parses, checking its type.
func tomlString(k kind, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		if k == kindNumber {
			return strconv.FormatInt(v, 10), nil
		}
	}
	switch k {
	case kindNumber:
		return "", fmt.Errorf("want an integer or a size string such as \"64KiB\", got %T", v)
	case kindDuration:
		return "", errors.New("want a duration string such as \"2s\"")
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

// sizeUnits are the suffixes parseSize accepts, largest first.
var sizeUnits = []struct {
	suffix string
	factor uint64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// parseSize parses a byte count: plain bytes ("1048576") or a whole number
// with a binary suffix ("64KiB", "1MiB", "2GiB"; case does not matter).
func parseSize(s string) (int, error) {
	num, factor := strings.TrimSpace(s), uint64(1)
	for _, u := range sizeUnits {
		if len(num) > len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, factor = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.factor
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: use bytes, or a whole number with KiB, MiB or GiB", s)
	}
	if n > math.MaxInt/factor {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int(n * factor), nil
}

// formatSize is the inverse of parseSize, using the largest exact unit.
func formatSize(n int) string {
	for _, u := range sizeUnits {
		if n != 0 && uint64(n)%u.factor == 0 {
			return strconv.FormatUint(uint64(n)/u.factor, 10) + u.suffix
		}
	}
	return strconv.Itoa(n)
}
