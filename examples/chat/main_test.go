package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
)

// runChat runs the example with stdin and args and returns its output.
func runChat(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := chat(ctx, strings.NewReader(stdin), &out, args)
	return out.String(), err
}

// conversation matches the output of a run with the default lines, after
// the broker line.
var conversation = regexp.MustCompile(`^client: channel \d+ open on service echo with \S+
> hello
< HELLO
> how are you\?
< HOW ARE YOU\?
> bye
< BYE
echo: \S+ closed its side after 3 messages; closing ours
client: the service closed its side too; bye
$`)

func TestChatEmbedded(t *testing.T) {
	out, err := runChat(t, "")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	first, rest, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, "broker: embedded at ferry://127.0.0.1:") {
		t.Errorf("first line %q, want the embedded broker's URL", first)
	}
	if !conversation.MatchString(rest) {
		t.Errorf("conversation:\n%s\nwant it to match\n%s", rest, conversation)
	}
}

func TestChatAgainstServer(t *testing.T) {
	srv := ferrytest.New(t)
	out, err := runChat(t, "", "-server", srv.URL())
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	if !conversation.MatchString(out) {
		t.Errorf("conversation:\n%s\nwant it to match\n%s", out, conversation)
	}
}

func TestChatInteractive(t *testing.T) {
	srv := ferrytest.New(t)
	out, err := runChat(t, "one\nTwo three\n", "-server", srv.URL(), "-interactive")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	for _, want := range []string{"> one\n< ONE\n> Two three\n< TWO THREE\n", "closed its side after 2 messages", "closed its side too; bye\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestChatRoles runs the echo service and the client as two runs of the
// example against one broker, as the README shows with 'ferry serve'.
func TestChatRoles(t *testing.T) {
	srv := ferrytest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svcOut := newWatchedOutput()
	svcDone := make(chan error, 1)
	go func() {
		svcDone <- chat(ctx, strings.NewReader(""), svcOut, []string{"-server", srv.URL(), "-role", "echo", "-id", "echo-7"})
	}()
	select {
	case <-svcOut.contains("echo: listening on service echo as echo-7"):
	case err := <-svcDone:
		t.Fatalf("echo role ended early: %v\n%s", err, svcOut)
	case <-time.After(10 * time.Second):
		t.Fatalf("echo role not ready:\n%s", svcOut)
	}

	out, err := runChat(t, "", "-server", srv.URL(), "-role", "client", "ping")
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	if !strings.Contains(out, "open on service echo with echo-7\n> ping\n< PING\n") || !strings.HasSuffix(out, "client: the service closed its side too; bye\n") {
		t.Errorf("client printed:\n%s", out)
	}
	select {
	case <-svcOut.contains("closed its side after 1 message; closing ours"):
	case <-time.After(10 * time.Second):
		t.Fatalf("echo role did not report the channel's end:\n%s", svcOut)
	}
	cancel()
	select {
	case err := <-svcDone:
		if err != nil {
			t.Errorf("echo role: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("echo role did not stop when cancelled")
	}
}

func TestChatErrors(t *testing.T) {
	srv := ferrytest.New(t)
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"-role", "client"}, "-role client needs -server"},
		{"", []string{"-role", "bogus"}, `-role is "bogus"`},
		{"", []string{"-interactive", "hi"}, "give LINEs or -interactive, not both"},
		{"", []string{"-server", srv.URL(), "-role", "client"}, "nobody listens on service echo"},
	} {
		out, err := runChat(t, tt.stdin, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("chat %q: error %v, want %q\n%s", tt.args, err, tt.want, out)
		}
	}
}

// watchedOutput is a writer tests can wait on.
type watchedOutput struct {
	mu      sync.Mutex // guards buf, changed
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newWatchedOutput() *watchedOutput { return &watchedOutput{changed: make(chan struct{})} }

func (w *watchedOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *watchedOutput) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// contains returns a channel closed once the output contains s.
func (w *watchedOutput) contains(s string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			w.mu.Lock()
			has, changed := strings.Contains(w.buf.String(), s), w.changed
			w.mu.Unlock()
			if has {
				return
			}
			<-changed
		}
	}()
	return done
}
