package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runInProcess runs the ferry command line in this process.
func runInProcess(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunExitCodes(t *testing.T) {
	badConfig := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(badConfig, []byte("max_payload = \"1MB\"\nbogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantStderr string // substring of stderr
	}{
		{name: "version", args: []string{"version"}, wantCode: 0, wantOut: "ferry "},
		{name: "help", args: []string{"help"}, wantCode: 0, wantOut: "Client commands:"},
		{name: "no args shows help", args: nil, wantCode: 0, wantOut: "Usage:"},
		{name: "command help has examples", args: []string{"sub", "--help"}, wantCode: 0, wantOut: "ferry sub 'orders.>'"},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: `ferry: unknown command "bogus"`},
		{name: "unknown flag", args: []string{"pub", "--bogus", "a", "b"}, wantCode: 2, wantStderr: "unknown flag: --bogus"},
		{name: "missing argument", args: []string{"sub"}, wantCode: 2, wantStderr: "ferry: missing PATTERN\nRun 'ferry sub --help' for usage."},
		{name: "missing arguments", args: []string{"send", "ep"}, wantCode: 2, wantStderr: "missing SUBJECT DATA"},
		{name: "extra argument", args: []string{"version", "x"}, wantCode: 2, wantStderr: `unexpected argument "x"`},
		{name: "bad location", args: []string{"pub", "--location", "95,0", "a", "b"}, wantCode: 2, wantStderr: "latitude 95 is out of range [-90, 90]"},
		{name: "bad label", args: []string{"sub", "--label", "camera", "a"}, wantCode: 2, wantStderr: `"camera" is not key=value`},
		{name: "negative count", args: []string{"sub", "--count", "-1", "a"}, wantCode: 2, wantStderr: "--count must not be negative"},
		{name: "reply needs data or echo", args: []string{"reply", "a"}, wantCode: 2, wantStderr: "give either DATA or --echo"},
		{name: "reply data and echo", args: []string{"reply", "--echo", "a", "b"}, wantCode: 2, wantStderr: "give either DATA or --echo"},
		{name: "pub count needs data", args: []string{"pub", "--count", "2", "a"}, wantCode: 2, wantStderr: "--count needs DATA"},
		{name: "bad config", args: []string{"serve", "--config", badConfig}, wantCode: 1, wantStderr: "max_payload"},
		{name: "connect failure", args: []string{"pub", "--server", "ferry://127.0.0.1:1", "--connect-timeout", "1s", "a", "b"}, wantCode: 1, wantStderr: "ferry: cannot connect to ferry://127.0.0.1:1: "},
		{name: "bad serve flag", args: []string{"serve", "--log-level", "loud"}, wantCode: 1, wantStderr: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runInProcess(t, "", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q lacks %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantStderr)
			}
		})
	}
}

// TestEveryCommandHasExamples keeps the help useful.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRootCmd(&app{lookupEnv: os.LookupEnv})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Example == "" || c.Short == "" {
			t.Errorf("%s: missing Example or Short", c.Name())
		}
	}
}

func TestErrorText(t *testing.T) {
	err := fmt.Errorf("publish to a: %w", errors.New("ferry: invalid subject"))
	if got := errorText(err); got != "publish to a: invalid subject" {
		t.Errorf("got %q", got)
	}
}
