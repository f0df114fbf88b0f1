package main

// End-to-end tests of the streaming commands: stream, stream --accept and
// channel, and of sub --backpressure.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
)

// startPiped starts ferry with a stdin the test writes to; the pipe is
// closed when the test ends.
func startPiped(t *testing.T, url string, args ...string) (*proc, io.WriteCloser) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startWithStdin(t, url, r, args...)
	r.Close() // the child has its copy
	t.Cleanup(func() { w.Close() })
	return p, w
}

// fixes returns n GPS fixes, one per line.
func fixes(n int) []string {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf("%.4f,%.4f", 52.52-float64(i)*0.0027, 13.41-float64(i)*0.007))
	}
	return lines
}

// checkStreamLines checks that lines are "STREAM SEQ from FROM SUBJECT:
// PAYLOAD" for want, with one stream number and seq 1..n in order.
func checkStreamLines(t *testing.T, who string, lines []string, from, subject string, want []string) {
	t.Helper()
	if len(lines) != len(want) {
		t.Fatalf("%s printed %d lines, want %d:\n%s", who, len(lines), len(want), strings.Join(lines, "\n"))
	}
	stream, _, _ := strings.Cut(lines[0], " ")
	if _, err := strconv.ParseUint(stream, 10, 64); err != nil {
		t.Fatalf("%s: line %q does not start with a stream number", who, lines[0])
	}
	for i, line := range lines {
		if w := fmt.Sprintf("%s %d from %s %s: %s", stream, i+1, from, subject, want[i]); line != w {
			t.Fatalf("%s line %d = %q, want %q", who, i+1, line, w)
		}
	}
}

// TestE2EStreamFanOut streams stdin through the broker to two acceptors,
// one with a window of 4 messages, so the sender is paced by it.
func TestE2EStreamFanOut(t *testing.T) {
	srv := ferrytest.New(t)
	dashes := []*proc{
		start(t, srv.URL(), "", "stream", "--accept", "gps.>", "--count", "1", "--id", "dash-1"),
		start(t, srv.URL(), "", "stream", "--accept", "gps.>", "--count", "1", "--id", "dash-2", "--window", "4"),
	}
	for i, d := range dashes {
		d.waitStderr(fmt.Sprintf("ferry: accepting streams on gps.> as dash-%d\n", i+1))
	}
	in := fixes(300) // more than the default window of 256
	code, _, stderr := runFerry(t, srv.URL(), strings.Join(in, "\n")+"\n", "stream", "gps.phone1", "--id", "phone1")
	expect(t, "stream", code, 0, stderr, "streamed 300 messages to 2 receivers\n")
	for i, d := range dashes {
		if code := d.wait(); code != 0 {
			t.Errorf("dash-%d exit %d; stderr: %s", i+1, code, d.stderr)
		}
		checkStreamLines(t, fmt.Sprintf("dash-%d", i+1), d.stdout.lines(), "phone1", "gps.phone1", in)
		for _, want := range []string{" from phone1 on gps.phone1 accepted\n", " from phone1 ended\n"} {
			if !strings.Contains(d.stderr.String(), want) {
				t.Errorf("dash-%d stderr %q lacks %q", i+1, d.stderr, want)
			}
		}
	}
}

func TestE2EStreamToEndpointJSON(t *testing.T) {
	srv := ferrytest.New(t)
	dash := start(t, srv.URL(), "", "stream", "--accept", "--count", "1", "--id", "dash-1", "--json")
	dash.waitStderr("ferry: accepting streams on > as dash-1\n")
	code, _, stderr := runFerry(t, srv.URL(), "one\n\xff\n", "stream", "@dash-1", "--subject", "gps.x", "--id", "phone2", "--header", "unit=deg")
	expect(t, "stream @dash-1", code, 0, stderr, "streamed 2 messages to 1 receiver\n")
	if code := dash.wait(); code != 0 {
		t.Errorf("accept exit %d; stderr: %s", code, dash.stderr)
	}
	lines := dash.stdout.lines()
	if len(lines) != 2 {
		t.Fatalf("accept printed %q, want 2 lines", lines)
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatalf("line %q: %v", lines[1], err)
	}
	want := map[string]any{
		"stream": first["stream"], "seq": 1.0, "from": "phone2", "subject": "gps.x", "headers": map[string]any{},
		"stream_headers": map[string]any{"unit": []any{"deg"}}, "payload": "one",
	}
	if first["stream"] == nil || fmt.Sprint(first) != fmt.Sprint(want) {
		t.Errorf("line 1 = %v\nwant     %v", first, want)
	}
	if second["seq"] != 2.0 || second["payload_base64"] != "/w==" || second["stream"] != first["stream"] {
		t.Errorf("line 2 = %v, want seq 2 and payload_base64 /w==", second)
	}
}

func TestE2EStreamAnycast(t *testing.T) {
	srv := ferrytest.New(t)
	screens := []*proc{
		start(t, srv.URL(), "", "stream", "--accept", "video.>", "--id", "screen-1"),
		start(t, srv.URL(), "", "stream", "--accept", "video.>", "--id", "screen-2"),
	}
	for _, s := range screens {
		s.waitStderr("ferry: accepting streams on video.> as screen-")
	}
	code, _, stderr := runFerry(t, srv.URL(), "f1\nf2\nf3\n", "stream", "anycast", "--subject", "video.cam7", "--id", "cam7")
	expect(t, "stream anycast", code, 0, stderr, "streamed 3 messages to 1 receiver\n")
	all := waitTotalLines(t, screens, 3)
	for _, s := range screens {
		if n := len(s.stdout.lines()); n != 0 && n != 3 {
			t.Errorf("a screen got %d of the 3 messages; anycast gives the whole stream to one", n)
		}
	}
	if len(all) != 3 {
		t.Errorf("screens printed %q together", all)
	}
	for _, s := range screens {
		s.signal(syscall.SIGINT)
		if code := s.wait(); code != 0 {
			t.Errorf("accept exit %d after SIGINT, want 0", code)
		}
	}
}

func TestE2EStreamNoResponders(t *testing.T) {
	srv := ferrytest.New(t)
	begin := time.Now()
	code, _, stderr := runFerry(t, srv.URL(), "x\n", "stream", "nobody.here")
	expect(t, "stream to nobody", code, 1, stderr, "ferry: no responders: nobody accepts streams on nobody.here\n")
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("took %s; no responders should fail at once", d)
	}
	code, _, stderr = runFerry(t, srv.URL(), "x\n", "stream", "@ghost", "--subject", "gps.x")
	expect(t, "stream to a ghost", code, 1, stderr, "ferry: no responders: nobody accepts streams on gps.x (@ghost)\n")
}

// TestE2EStreamInterrupted: SIGINT aborts the stream; the acceptor reports
// the abort and, having been asked for one stream, exits 1.
func TestE2EStreamInterrupted(t *testing.T) {
	srv := ferrytest.New(t)
	dash := start(t, srv.URL(), "", "stream", "--accept", "gps.>", "--count", "1", "--id", "dash-1")
	dash.waitStderr("ferry: accepting streams on gps.> as dash-1\n")
	sender, stdin := startPiped(t, srv.URL(), "stream", "gps.phone1", "--id", "phone1")
	if _, err := io.WriteString(stdin, "first\n"); err != nil {
		t.Fatal(err)
	}
	dash.waitLines(1)
	sender.signal(syscall.SIGINT)
	if code := sender.wait(); code != exitInterrupted {
		t.Errorf("sender exit %d after SIGINT, want %d; stderr: %s", code, exitInterrupted, sender.stderr)
	}
	code := dash.wait()
	expect(t, "accept", code, 1, dash.stderr.String(), " from phone1 aborted: interrupted\n")
	if !strings.Contains(dash.stderr.String(), "ferry: 1 of 1 streams did not end cleanly\n") {
		t.Errorf("accept stderr %q lacks the summary", dash.stderr)
	}
}

// TestE2EStreamReceiversLeft: when the only receiver leaves, the sender
// exits 1 without waiting for the rest of stdin.
func TestE2EStreamReceiversLeft(t *testing.T) {
	srv := ferrytest.New(t)
	dash := start(t, srv.URL(), "", "stream", "--accept", "gps.>", "--id", "dash-1")
	dash.waitStderr("ferry: accepting streams on gps.> as dash-1\n")
	sender, stdin := startPiped(t, srv.URL(), "stream", "gps.phone1", "--id", "phone1")
	if _, err := io.WriteString(stdin, "first\n"); err != nil {
		t.Fatal(err)
	}
	dash.waitLines(1)
	dash.signal(syscall.SIGINT)
	if code := dash.wait(); code != 0 {
		t.Errorf("accept exit %d after SIGINT, want 0", code)
	}
	code := sender.wait()
	expect(t, "sender", code, 1, sender.stderr.String(),
		"ferry: stream on gps.phone1 ended after 1 message: stream peer gone (no responders): ")
}

// TestE2EChannelChat is two terminals chatting: each side prints the
// other's lines, and both exit 0 once both stdins ended.
func TestE2EChannelChat(t *testing.T) {
	srv := ferrytest.New(t)
	bob := start(t, srv.URL(), "hi alice\nhow are you?\n", "channel", "--listen", "chat", "--id", "bob")
	bob.waitStderr("ferry: listening for channels on chat as bob\n")
	code, stdout, stderr := runFerry(t, srv.URL(), "hi bob\n", "channel", "@bob", "chat", "--id", "alice")
	expect(t, "channel @bob", code, 0, stderr, " to bob on chat open\n")
	if stdout != "hi alice\nhow are you?\n" {
		t.Errorf("alice printed %q, want bob's lines", stdout)
	}
	if !strings.Contains(stderr, " with bob ended\n") {
		t.Errorf("alice stderr %q lacks the end", stderr)
	}
	if code := bob.wait(); code != 0 {
		t.Errorf("bob exit %d; stderr: %s", code, bob.stderr)
	}
	if got := bob.stdout.String(); got != "hi bob\n" {
		t.Errorf("bob printed %q, want alice's line", got)
	}
	for _, want := range []string{" from alice on chat accepted\n", " with alice ended\n"} {
		if !strings.Contains(bob.stderr.String(), want) {
			t.Errorf("bob stderr %q lacks %q", bob.stderr, want)
		}
	}
}

// TestE2EChannelAnycastJSON: a channel to whichever listener, JSON output.
func TestE2EChannelAnycastJSON(t *testing.T) {
	srv := ferrytest.New(t)
	echo := start(t, srv.URL(), "pong\n", "channel", "--listen", "echo", "--id", "echo-1", "--label", "type=echo")
	echo.waitStderr("ferry: listening for channels on echo as echo-1\n")
	code, stdout, stderr := runFerry(t, srv.URL(), "ping\n", "channel", "anycast", "echo", "--where", "type=echo", "--json", "--id", "client-1")
	expect(t, "channel anycast", code, 0, stderr, " to echo-1 on echo open\n") // the server names the chosen peer
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("output %q: %v", stdout, err)
	}
	if m["service"] != "echo" || m["seq"] != 1.0 || m["payload"] != "pong" || m["channel"] == nil {
		t.Errorf("JSON line = %v", m)
	}
	if code := echo.wait(); code != 0 {
		t.Errorf("listener exit %d; stderr: %s", code, echo.stderr)
	}
	if got := echo.stdout.String(); got != "ping\n" {
		t.Errorf("listener printed %q", got)
	}
}

// TestE2EChannelPeerDeath kills the listening side mid-conversation: the
// dialing side exits 1 with the reason within 3 s.
func TestE2EChannelPeerDeath(t *testing.T) {
	srv := ferrytest.New(t)
	bob, _ := startPiped(t, srv.URL(), "channel", "--listen", "chat", "--id", "bob")
	bob.waitStderr("ferry: listening for channels on chat as bob\n")
	alice, aliceIn := startPiped(t, srv.URL(), "channel", "@bob", "chat", "--id", "alice")
	alice.waitStderr(" to bob on chat open\n")
	if _, err := io.WriteString(aliceIn, "are you there?\n"); err != nil {
		t.Fatal(err)
	}
	if got := bob.waitLines(1); !slices.Equal(got, []string{"are you there?"}) {
		t.Fatalf("bob printed %q", got)
	}
	bob.signal(syscall.SIGKILL)
	killed := time.Now()
	code := alice.wait()
	if d := time.Since(killed); d > 3*time.Second {
		t.Errorf("alice noticed after %s, want within 3s", d)
	}
	expect(t, "alice", code, 1, alice.stderr.String(), "ferry: channel ")
	if !strings.Contains(alice.stderr.String(), "with bob on chat: stream peer gone") {
		t.Errorf("alice stderr %q lacks the peer-gone reason", alice.stderr)
	}
}

func TestE2EChannelNoResponders(t *testing.T) {
	srv := ferrytest.New(t)
	code, _, stderr := runFerry(t, srv.URL(), "hi\n", "channel", "@ghost", "chat")
	expect(t, "channel @ghost", code, 1, stderr, "ferry: no responders: nobody accepts channels on chat (@ghost)\n")
}

func TestE2ESubBackpressure(t *testing.T) {
	srv := ferrytest.New(t)
	sub := start(t, srv.URL(), "", "sub", "prices.>", "--backpressure", "latest-per-key", "--limit", "10", "--count", "2")
	sub.waitStderr("ferry: subscribed to prices.>")
	code, _, stderr := runFerry(t, srv.URL(), "1.10\n1.11\n", "pub", "prices.eurusd")
	expect(t, "pub", code, 0, stderr, "")
	if code := sub.wait(); code != 0 {
		t.Errorf("sub exit %d; stderr: %s", code, sub.stderr)
	}
	if got := sub.stdout.lines(); !slices.Equal(got, []string{"1.10", "1.11"}) {
		t.Errorf("sub printed %q", got)
	}
}
