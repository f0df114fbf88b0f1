package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

// testApp is an app for parsing command lines; it connects nowhere.
func testApp() *app {
	return &app{stdin: strings.NewReader(""), stdout: new(strings.Builder), stderr: new(strings.Builder), lookupEnv: os.LookupEnv}
}

func TestStreamTargets(t *testing.T) {
	tests := []struct {
		args        []string
		subject     string
		target      string // ferry.Target.String()
		wantErr     string
		wantUsage   bool
		acceptParse bool
	}{
		{args: []string{"gps.phone1"}, subject: "gps.phone1", target: "subscribers"},
		{args: []string{"gps.phone1", "--cut-slow", "--header", "unit=deg"}, subject: "gps.phone1", target: "subscribers"},
		{args: []string{"@dash-1", "--subject", "gps.phone1"}, subject: "gps.phone1", target: "@dash-1"},
		{args: []string{"anycast", "--subject", "video.cam7"}, subject: "video.cam7", target: "anycast(round-robin)"},
		{args: []string{"anycast", "--subject", "v", "--policy", "nearest", "--near", "52.52,13.4", "--where", "type=screen"},
			subject: "v", target: "anycast(nearest) near 52.52,13.4[type=screen]"},
		{args: []string{"anycast", "--subject", "v", "--group", "screens", "--policy", "hash", "--key", "k"},
			subject: "v", target: "anycast(hash) #screens"},

		{args: []string{"@dash-1"}, wantErr: "@dash-1 needs --subject SUBJECT, the subject the receiver accepts streams on"},
		{args: []string{"anycast"}, wantErr: "anycast needs --subject SUBJECT, the subject the receiver accepts streams on"},
		{args: []string{"@", "--subject", "s"}, wantErr: "missing endpoint ID after @"},
		{args: []string{"gps.x", "--subject", "gps.y"}, wantErr: `--subject is for @ID and anycast; "gps.x" is the subject already`},
		{args: []string{"gps.x", "--where", "type=a"}, wantErr: "--where needs TARGET anycast"},
		{args: []string{"gps.x", "--policy", "nearest"}, wantErr: "--policy needs TARGET anycast"},
		{args: []string{"@bob", "--subject", "s", "--policy", "random"}, wantErr: "--policy is for anycast, not for @bob"},
		{args: []string{"anycast", "--subject", "s", "--near", "1,2"}, wantErr: "--near needs --policy nearest (the policy is round-robin)"},
		{args: []string{"anycast", "--subject", "s", "--key", "k"}, wantErr: "--key needs --policy hash (the policy is round-robin)"},
		{args: []string{"gps.x", "--count", "1"}, wantErr: "--count needs --accept"},
		{args: []string{"gps.x", "--json"}, wantErr: "--json needs --accept"},
		{args: []string{"gps.x", "--window", "8"}, wantErr: "--window needs --accept"},
		{args: []string{"gps.x", "--backpressure", "drop-oldest"}, wantErr: "--backpressure needs --accept"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd, c := newStreamCommand(testApp())
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatalf("parse flags: %v", err)
			}
			subject, target, err := c.checkSend(cmd, cmd.Flags().Arg(0))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				var ue usageError
				if !errors.As(err, &ue) {
					t.Errorf("error %v is not a usage error", err)
				}
				return
			}
			if err != nil || subject != tt.subject || target.String() != tt.target {
				t.Errorf("got %q %s, %v; want %q %s", subject, target, err, tt.subject, tt.target)
			}
		})
	}
}

func TestStreamAcceptFlags(t *testing.T) {
	tests := []struct {
		args    []string
		pattern string
		wantErr string
	}{
		{args: []string{"--accept"}, pattern: ">"},
		{args: []string{"--accept", "gps.>", "--count", "2", "--json", "--window", "16"}, pattern: "gps.>"},
		{args: []string{"--accept", "--subject", "s"}, wantErr: "--subject is for sending; not with --accept"},
		{args: []string{"--accept", "--cut-slow"}, wantErr: "--cut-slow is for sending; not with --accept"},
		{args: []string{"--accept", "--policy", "nearest"}, wantErr: "--policy is for sending; not with --accept"},
		{args: []string{"--accept", "--count", "-1"}, wantErr: "--count must not be negative, got -1"},
		{args: []string{"--accept", "--window", "-3"}, wantErr: "--window must not be negative, got -3"},
		{args: []string{"--accept", "gps.>", "--backpressure", "drop-oldest", "--limit", "8"}, pattern: "gps.>"},
		{args: []string{"--accept", "--backpressure", "drop-newest"}, pattern: ">"},
		{args: []string{"--accept", "--backpressure", "latest-per-key", "--limit", "1"}, pattern: ">"},
		{args: []string{"--accept", "--backpressure", "block"},
			wantErr: "--backpressure block is not for streams: a stream receiver already paces its sender by credit; use drop-oldest, drop-newest or latest-per-key"},
		{args: []string{"--accept", "--backpressure", "disconnect"},
			wantErr: "--backpressure disconnect is not for streams: a stream receiver already paces its sender by credit; use drop-oldest, drop-newest or latest-per-key"},
		{args: []string{"--accept", "--limit", "8"}, wantErr: "--limit needs --backpressure"},
		{args: []string{"--accept", "--backpressure", "drop-oldest", "--limit", "-1"}, wantErr: "--limit must not be negative, got -1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd, c := newStreamCommand(testApp())
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatalf("parse flags: %v", err)
			}
			pattern, err := c.checkAccept(cmd, cmd.Flags().Args())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || pattern != tt.pattern {
				t.Errorf("got %q, %v; want %q", pattern, err, tt.pattern)
			}
		})
	}
}

func TestChannelTargets(t *testing.T) {
	tests := []struct {
		args    []string
		target  string
		service string
		wantErr string
	}{
		{args: []string{"@bob", "chat"}, target: "@bob", service: "chat"},
		{args: []string{"anycast", "echo"}, target: "anycast(round-robin)", service: "echo"},
		{args: []string{"anycast", "echo", "--policy", "nearest", "--where", "type=echo"}, target: "anycast(nearest)[type=echo]", service: "echo"},
		{args: []string{"bob", "chat"}, wantErr: `TARGET "bob" is neither @ID nor anycast`},
		{args: []string{"@bob", ""}, wantErr: "SERVICE is empty"},
		{args: []string{"@bob", "chat", "--where", "a=b"}, wantErr: "--where is for anycast, not for @bob"},
		{args: []string{"@bob", "chat", "--count", "2"}, wantErr: "--count needs --listen"},
		{args: []string{"anycast", "chat", "--near", "1,2"}, wantErr: "--near needs --policy nearest (the policy is round-robin)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd, c := newChannelCommand(testApp())
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatalf("parse flags: %v", err)
			}
			target, service, err := c.checkDial(cmd, cmd.Flags().Args())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				var ue usageError
				if !errors.As(err, &ue) {
					t.Errorf("error %v is not a usage error", err)
				}
				return
			}
			if err != nil || target.String() != tt.target || service != tt.service {
				t.Errorf("got %s %q, %v; want %s %q", target, service, err, tt.target, tt.service)
			}
		})
	}
}

// TestStreamingUsage runs the usage errors through the whole command line:
// exit status 2, and the message.
func TestStreamingUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"stream"}, "ferry: missing TARGET (SUBJECT, @ID or anycast), or give --accept\nRun 'ferry stream --help' for usage."},
		{[]string{"stream", "a", "b"}, `unexpected argument "b"`},
		{[]string{"stream", "--accept", "a", "b"}, `unexpected argument "b"`},
		{[]string{"stream", "@bob"}, "@bob needs --subject SUBJECT"},
		{[]string{"stream", "gps.x", "--policy", "closest"}, "unknown policy"},
		{[]string{"channel"}, "ferry: missing TARGET SERVICE (TARGET is @ID or anycast), or give --listen SERVICE"},
		{[]string{"channel", "@bob"}, "missing SERVICE"},
		{[]string{"channel", "--listen", "chat", "extra"}, `unexpected argument "extra"; --listen takes the SERVICE`},
		{[]string{"channel", "--listen", ""}, "--listen needs a SERVICE"},
		{[]string{"channel", "--listen", "chat", "--policy", "nearest"}, "--policy is for opening a channel; not with --listen"},
		{[]string{"channel", "--listen", "chat", "--count", "-2"}, "--count must not be negative"},
		{[]string{"channel", "@bob", "chat", "--window", "-1"}, "--window must not be negative"},
		{[]string{"sub", "a", "--backpressure", "drop-all"}, "unknown backpressure policy; want one of disconnect, block, drop-newest, drop-oldest, latest-per-key"},
		{[]string{"sub", "a", "--limit", "10"}, "--limit needs --backpressure"},
		{[]string{"sub", "a", "--backpressure", "block", "--limit", "-1"}, "--limit must not be negative, got -1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runInProcess(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
		})
	}
}

func TestBackpressureFlag(t *testing.T) {
	var f backpressureFlag
	if f.set || f.String() != "" {
		t.Errorf("zero flag = %q (set %v)", f.String(), f.set)
	}
	for _, name := range backpressureNames {
		if err := f.Set(name); err != nil || !f.set || f.String() != name || f.p.String() != name {
			t.Errorf("Set(%q): %v; got %q, policy %v", name, err, f.String(), f.p)
		}
	}
	want := []ferry.Backpressure{ferry.BackpressureDisconnect, ferry.BackpressureBlock, ferry.BackpressureDropNewest,
		ferry.BackpressureDropOldest, ferry.BackpressureLatestPerKey}
	for i, name := range backpressureNames {
		if err := f.Set(name); err != nil || f.p != want[i] {
			t.Errorf("Set(%q) = %v, %v; want %v", name, f.p, err, want[i])
		}
	}
	if err := f.Set("drop-all"); err == nil {
		t.Error("Set(drop-all) succeeded")
	}
}

func TestStreamEnd(t *testing.T) {
	wrap := func(sentinel error, reason string) error {
		return fmt.Errorf("ferry: stream 3 (gps.x): %w: %s", sentinel, reason)
	}
	for _, tt := range []struct {
		err         error
		end, reason string
	}{
		{wrap(ferry.ErrStreamAborted, "bye"), "stream aborted: bye", "bye"},
		{wrap(ferry.ErrPeerGone, "connection closed"), "stream peer gone: connection closed", "stream peer gone: connection closed"},
		{wrap(ferry.ErrSlowReceiver, "stalled 2s"), "cut from the stream as a slow receiver: stalled 2s", "cut from the stream as a slow receiver: stalled 2s"},
		{errors.New("ferry: something else"), "something else", "something else"},
	} {
		if got := streamEnd(tt.err); got != tt.end {
			t.Errorf("streamEnd(%v) = %q, want %q", tt.err, got, tt.end)
		}
		if got := abortReason(tt.err); got != tt.reason {
			t.Errorf("abortReason(%v) = %q, want %q", tt.err, got, tt.reason)
		}
	}
}

func TestNoStreamResponders(t *testing.T) {
	if got, want := noStreamResponders("streams", "gps.x", ferry.Target{}).Error(), "no responders: nobody accepts streams on gps.x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := noStreamResponders("channels", "chat", ferry.ToEndpoint("bob")).Error(), "no responders: nobody accepts channels on chat (@bob)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// runAsync runs the ferry command line in this process on a goroutine,
// with outputs the test can wait on; the exit status comes on the channel.
func runAsync(t *testing.T, ctx context.Context, url, stdin string, args ...string) (stdout, stderr *output, code <-chan int) {
	t.Helper()
	stdout, stderr = newOutput(), newOutput()
	ch := make(chan int, 1)
	a := &app{stdin: strings.NewReader(stdin), stdout: stdout, stderr: stderr, lookupEnv: func(k string) (string, bool) {
		if k == "FERRY_SERVER" {
			return url, true
		}
		return "", false
	}}
	go func() { ch <- a.run(ctx, args) }()
	return stdout, stderr, ch
}

// waitOutput waits until o contains s.
func waitOutput(t *testing.T, o *output, s string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		text, changed := o.snapshot()
		if strings.Contains(text, s) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %q after %s in %q", s, waitTimeout, text)
		}
	}
}

// waitCode waits for an exit status from runAsync.
func waitCode(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("still running after %s", waitTimeout)
		return -1
	}
}

// TestRunStreamingInProcess drives stream and channel through run(), both
// ends in this process.
func TestRunStreamingInProcess(t *testing.T) {
	srv := ferrytest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	accOut, accErr, accCode := runAsync(t, ctx, srv.URL(), "", "stream", "--accept", "demo.>", "--count", "1", "--id", "acc")
	waitOutput(t, accErr, "ferry: accepting streams on demo.> as acc\n")
	out, errOut, code := runAsync(t, ctx, srv.URL(), "a\nb\n", "stream", "demo.x", "--id", "snd")
	if c := waitCode(t, code); c != 0 {
		t.Fatalf("stream exit %d; stderr: %s", c, errOut)
	}
	if got := errOut.String(); got != "streamed 2 messages to 1 receiver\n" || out.String() != "" {
		t.Errorf("stream printed %q, stderr %q", out, got)
	}
	if c := waitCode(t, accCode); c != 0 {
		t.Fatalf("accept exit %d; stderr: %s", c, accErr)
	}
	lines := accOut.lines()
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " 1 from snd demo.x: a") || !strings.HasSuffix(lines[1], " 2 from snd demo.x: b") {
		t.Errorf("accept printed %q", lines)
	}

	bobOut, bobErr, bobCode := runAsync(t, ctx, srv.URL(), "to alice\n", "channel", "--listen", "chat", "--id", "bob")
	waitOutput(t, bobErr, "ferry: listening for channels on chat as bob\n")
	aliceOut, aliceErr, aliceCode := runAsync(t, ctx, srv.URL(), "to bob\n", "channel", "@bob", "chat", "--id", "alice")
	if c := waitCode(t, aliceCode); c != 0 {
		t.Fatalf("channel @bob exit %d; stderr: %s", c, aliceErr)
	}
	if c := waitCode(t, bobCode); c != 0 {
		t.Fatalf("channel --listen exit %d; stderr: %s", c, bobErr)
	}
	if aliceOut.String() != "to alice\n" || bobOut.String() != "to bob\n" {
		t.Errorf("alice printed %q, bob %q", aliceOut, bobOut)
	}
}
