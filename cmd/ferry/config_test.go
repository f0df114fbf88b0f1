package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/server"
)

// configTest is a case of TestLoadConfig.
type configTest struct {
	name    string
	file    string            // TOML content; "" means no file
	path    string            // a fixed path instead of file
	env     map[string]string // environment
	flags   map[string]string // flags given, by key
	want    func(*testing.T, serveConfig)
	wantErr []string // substrings of the error
}

var configTests = []configTest{
	{
		name: "defaults",
		want: func(t *testing.T, c serveConfig) {
			if c.Server != (server.Options{}) || c.LogLevel != slog.LevelInfo || c.LogFormat != "text" {
				t.Errorf("got %+v, want zero options, info, text", c)
			}
		},
	},
	{
		name: "example file",
		path: "testdata/ferry.toml",
		want: func(t *testing.T, c serveConfig) {
			want := server.Options{
				Listen: "127.0.0.1:7420", DataDir: "./ferry-data", Name: "ferry",
				MaxPayload: 1 << 20, MaxHeaders: 64 << 10, MaxSubjectBytes: 256, MaxSubjectTokens: 32,
				MaxSubsPerConn: 65536, MaxPending: 32 << 20, MaxConns: 65536,
				HandshakeTimeout: 2 * time.Second, WriteTimeout: 5 * time.Second,
				PingInterval: 30 * time.Second, MaxPingsOut: 2, MaxAttempts: 3, StallTimeout: 2 * time.Second,
			}
			if c.Server != want || c.HTTP != DefaultHTTP {
				t.Errorf("got %+v, http %q\nwant %+v", c.Server, c.HTTP, want)
			}
		},
	},
	{
		name: "file values and sizes",
		file: "listen = \"0.0.0.0:1\"\nmax_payload = \"2 MiB\"\nmax_headers = 4096\nmax_pending = \"1gib\"\nlog_level = \"debug\"\nlog_format = \"json\"\nping_interval = \"1m\"",
		want: func(t *testing.T, c serveConfig) {
			s := c.Server
			if s.Listen != "0.0.0.0:1" || s.MaxPayload != 2<<20 || s.MaxHeaders != 4096 || s.MaxPending != 1<<30 || s.PingInterval != time.Minute {
				t.Errorf("got %+v", s)
			}
			if c.LogLevel != slog.LevelDebug || c.LogFormat != "json" {
				t.Errorf("got log %v %s", c.LogLevel, c.LogFormat)
			}
		},
	},
	{
		name: "env overrides file",
		file: "listen = \"file:1\"\nname = \"from-file\"\nmax_conns = 10",
		env:  map[string]string{"FERRY_LISTEN": "env:2", "FERRY_MAX_CONNS": "20", "FERRY_WRITE_TIMEOUT": "3s"},
		want: func(t *testing.T, c serveConfig) {
			s := c.Server
			if s.Listen != "env:2" || s.Name != "from-file" || s.MaxConns != 20 || s.WriteTimeout != 3*time.Second {
				t.Errorf("got %+v", s)
			}
		},
	},
	{
		name:  "flags override env and file",
		file:  "listen = \"file:1\"\ndata = \"/file\"\nlog_level = \"warn\"",
		env:   map[string]string{"FERRY_LISTEN": "env:2", "FERRY_DATA": "/env", "FERRY_LOG_LEVEL": "error"},
		flags: map[string]string{"listen": "flag:3", "log_level": "debug"},
		want: func(t *testing.T, c serveConfig) {
			if c.Server.Listen != "flag:3" || c.Server.DataDir != "/env" || c.LogLevel != slog.LevelDebug {
				t.Errorf("got %+v, level %v", c.Server, c.LogLevel)
			}
		},
	},
	{
		name: "empty env var is unset",
		file: "name = \"from-file\"",
		env:  map[string]string{"FERRY_NAME": ""},
		want: func(t *testing.T, c serveConfig) {
			if c.Server.Name != "from-file" {
				t.Errorf("name = %q", c.Server.Name)
			}
		},
	},
	{
		name: "FERRY_CONFIG names the file",
		env:  map[string]string{"FERRY_CONFIG": "testdata/ferry.toml"},
		want: func(t *testing.T, c serveConfig) {
			if c.Server.MaxPayload != 1<<20 {
				t.Errorf("file not read: %+v", c.Server)
			}
		},
	},
	{
		name: "http default",
		want: func(t *testing.T, c serveConfig) {
			if c.HTTP != DefaultHTTP || c.httpListen() != DefaultHTTP {
				t.Errorf("http %q, listen %q; want %s", c.HTTP, c.httpListen(), DefaultHTTP)
			}
		},
	},
	{
		name: "http from file, env off",
		file: `http = "0.0.0.0:9000"`,
		env:  map[string]string{"FERRY_HTTP": "off"},
		want: func(t *testing.T, c serveConfig) {
			if c.httpListen() != "" {
				t.Errorf("http %q is not off", c.HTTP)
			}
		},
	},
	{
		name:  "http flag empty disables",
		file:  `http = "0.0.0.0:9000"`,
		flags: map[string]string{"http": ""},
		want: func(t *testing.T, c serveConfig) {
			if c.httpListen() != "" {
				t.Errorf("http %q is not off", c.HTTP)
			}
		},
	},
	{
		name: "http from file",
		file: `http = "0.0.0.0:9000"`,
		want: func(t *testing.T, c serveConfig) {
			if c.httpListen() != "0.0.0.0:9000" {
				t.Errorf("http %q", c.HTTP)
			}
		},
	},
	{name: "bad size in file", file: `max_payload = "1MB"`, wantErr: []string{"max_payload", `"1MB"`, "KiB"}},
	{name: "float size in file", file: `max_payload = 1.5`, wantErr: []string{"max_payload", "float64"}},
	{name: "negative size in file", file: `max_pending = -1`, wantErr: []string{"max_pending"}},
	{name: "integer duration in file", file: `handshake_timeout = 2`, wantErr: []string{"handshake_timeout", "duration"}},
	{name: "bad duration in file", file: `write_timeout = "soon"`, wantErr: []string{"write_timeout", `"soon"`}},
	{name: "number for string key", file: `listen = 7420`, wantErr: []string{"listen", "string"}},
	{name: "bad log format", file: `log_format = "xml"`, wantErr: []string{"log_format", "xml"}},
	{name: "unknown keys", file: "foo = 1\nmax_paylod = 2\n[extra]\nx = 1", wantErr: []string{`"extra"`, `"foo"`, `"max_paylod"`, "unknown key"}},
	{name: "syntax error", file: "listen = ", wantErr: []string{"ferry.toml"}},
	{name: "missing file", path: "testdata/no-such.toml", wantErr: []string{"no-such.toml"}},
	{name: "bad env size", env: map[string]string{"FERRY_MAX_PENDING": "lots"}, wantErr: []string{"FERRY_MAX_PENDING", `"lots"`}},
	{name: "bad env count", env: map[string]string{"FERRY_MAX_SUBS_PER_CONN": "-3"}, wantErr: []string{"FERRY_MAX_SUBS_PER_CONN"}},
	{name: "negative env duration", env: map[string]string{"FERRY_PING_INTERVAL": "-1s"}, wantErr: []string{"FERRY_PING_INTERVAL", "negative"}},
	{name: "bad flag log level", flags: map[string]string{"log_level": "loud"}, wantErr: []string{"--log-level", "loud"}},
	{name: "invalid combination", env: map[string]string{"FERRY_MAX_PAYLOAD": "2MiB", "FERRY_MAX_PENDING": "1MiB"}, wantErr: []string{"MaxPending"}},
	{name: "payload over limit", file: `max_payload = "65MiB"`, wantErr: []string{"MaxPayload"}},
}

func TestLoadConfig(t *testing.T) {
	for _, tt := range configTests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "ferry.toml")
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			c, err := loadConfig(path, lookup, tt.flags)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got no error, want one mentioning %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, c)
		})
	}
}

// TestSettingsDocumented checks that every key appears in the example
// config and in the serve help.
func TestSettingsDocumented(t *testing.T) {
	example, err := os.ReadFile("testdata/ferry.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(example), "\n"+s.key+" = ") {
			t.Errorf("testdata/ferry.toml lacks %s", s.key)
		}
		if !strings.Contains(configKeysHelp, "  "+s.key+" ") {
			t.Errorf("configKeysHelp lacks %s", s.key)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"64KiB", 64 << 10, false},
		{"1MiB", 1 << 20, false},
		{"1 mib", 1 << 20, false},
		{"2GiB", 2 << 30, false},
		{" 3KiB ", 3 << 10, false},
		{"", 0, true},
		{"KiB", 0, true},
		{"1MB", 0, true},
		{"1.5MiB", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1_000", 0, true},
		{"99999999999999999999", 0, true},
		{"9999999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "1", "64KiB", "1MiB", "3gib", "1MB", " 7 KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		again, err := parseSize(formatSize(n))
		if err != nil || again != n {
			t.Fatalf("parseSize(formatSize(%d)=%q) = %d, %v", n, formatSize(n), again, err)
		}
	})
}
