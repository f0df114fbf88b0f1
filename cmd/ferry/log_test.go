package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferrymq/ferry"
)

func TestLogUsageErrors(t *testing.T) {
	bad := "--server=ferry://127.0.0.1:1"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{name: "log help", args: []string{"log"}, wantCode: 0, wantOut: "consume"},
		{name: "root help lists log group", args: []string{"help"}, wantCode: 0, wantOut: "Log commands:"},
		{name: "unknown subcommand", args: []string{"log", "bogus"}, wantCode: 2, wantStderr: `unknown command "bogus"`},
		{name: "create missing name", args: []string{"log", "create"}, wantCode: 2, wantStderr: "missing NAME\nRun 'ferry log create --help' for usage."},
		{name: "create needs subjects", args: []string{"log", "create", bad, "orders"}, wantCode: 2, wantStderr: "--subjects is required"},
		{name: "create bad storage", args: []string{"log", "create", bad, "o", "--subjects", "a", "--storage", "disk"}, wantCode: 2, wantStderr: "--storage must be file or memory"},
		{name: "create bad sync", args: []string{"log", "create", bad, "o", "--subjects", "a", "--sync", "sometimes"}, wantCode: 2, wantStderr: "--sync must be always, interval:D or never"},
		{name: "create bad interval", args: []string{"log", "create", bad, "o", "--subjects", "a", "--sync", "interval:x"}, wantCode: 2, wantStderr: "positive duration"},
		{name: "create bad max-bytes", args: []string{"log", "create", bad, "o", "--subjects", "a", "--max-bytes", "1TB"}, wantCode: 2, wantStderr: "--max-bytes"},
		{name: "create negative max-age", args: []string{"log", "create", bad, "o", "--subjects", "a", "--max-age", "-1s"}, wantCode: 2, wantStderr: "--max-age must not be negative"},
		{name: "create bad max-msgs", args: []string{"log", "create", bad, "o", "--subjects", "a", "--max-msgs", "-1"}, wantCode: 2, wantStderr: "--max-msgs"},
		{name: "create extra arg", args: []string{"log", "create", "o", "p"}, wantCode: 2, wantStderr: `unexpected argument "p"`},
		{name: "ls extra arg", args: []string{"log", "ls", "x"}, wantCode: 2, wantStderr: `unexpected argument "x"`},
		{name: "info missing name", args: []string{"log", "info"}, wantCode: 2, wantStderr: "missing NAME"},
		{name: "rm missing name", args: []string{"log", "rm"}, wantCode: 2, wantStderr: "missing NAME"},
		{name: "pub missing subject", args: []string{"log", "pub"}, wantCode: 2, wantStderr: "missing SUBJECT"},
		{name: "pub negative count", args: []string{"log", "pub", "--count", "-1", "a", "b"}, wantCode: 2, wantStderr: "--count must not be negative"},
		{name: "pub count needs data", args: []string{"log", "pub", "--count", "2", "a"}, wantCode: 2, wantStderr: "--count needs DATA"},
		{name: "read missing name", args: []string{"log", "read"}, wantCode: 2, wantStderr: "missing NAME"},
		{name: "read bad from", args: []string{"log", "read", bad, "o", "--from", "yesterday"}, wantCode: 2, wantStderr: `--from "yesterday"`},
		{name: "read from zero", args: []string{"log", "read", bad, "o", "--from", "0"}, wantCode: 2, wantStderr: "a sequence is a whole number from 1"},
		{name: "read negative wait", args: []string{"log", "read", bad, "o", "--wait", "-1s"}, wantCode: 2, wantStderr: "--wait must not be negative"},
		{name: "read negative count", args: []string{"log", "read", bad, "o", "--count", "-2"}, wantCode: 2, wantStderr: "--count must not be negative"},
		{name: "consume missing consumer", args: []string{"log", "consume", "o"}, wantCode: 2, wantStderr: "missing CONSUMER"},
		{name: "consume bad from", args: []string{"log", "consume", bad, "o", "c", "--from", "seq:x"}, wantCode: 2, wantStderr: "a sequence is a whole number"},
		{name: "consume group needs push", args: []string{"log", "consume", bad, "o", "c", "--group", "g"}, wantCode: 2, wantStderr: "--group needs --push"},
		{name: "consume negative max-ack-pending", args: []string{"log", "consume", bad, "o", "c", "--push", "--max-ack-pending", "-1"}, wantCode: 2, wantStderr: "--max-ack-pending must not be negative"},
		{name: "connect failure", args: []string{"log", "ls", bad, "--connect-timeout", "1s"}, wantCode: 1, wantStderr: "ferry: cannot connect to ferry://127.0.0.1:1: "},
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

func TestParseFrom(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "first", want: "first"},
		{in: "last", want: "last"},
		{in: "new", want: "new"},
		{in: "42", want: "seq:42"},
		{in: "seq:7", want: "seq:7"},
		{in: "2026-01-02T15:04:05Z", want: "time:2026-01-02T15:04:05Z"},
		{in: "2026-01-02T16:04:05+01:00", want: "time:2026-01-02T15:04:05Z"},
		{in: "time:2026-01-02T15:04:05.5Z", want: "time:2026-01-02T15:04:05.5Z"},
		{in: "0", wantErr: true},
		{in: "seq:", wantErr: true},
		{in: "-3", wantErr: true},
		{in: "2026-01-02", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseFrom(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseFrom(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDamagedRanges(t *testing.T) {
	tests := []struct {
		in   []ferry.SeqRange
		want []string
	}{
		{nil, nil},
		{[]ferry.SeqRange{{First: 7, Last: 7}}, []string{"7"}},
		{[]ferry.SeqRange{{First: 3, Last: 5}, {First: 9, Last: 9}}, []string{"3-5", "9"}},
	}
	for _, tt := range tests {
		if got := damagedRanges(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("damagedRanges(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
