package main

// End-to-end tests: they build the ferry binary and drive it against a real
// server, synchronising on the "ferry: subscribed to ..." style lines the
// commands print to stderr once the broker has their subscription.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

// raceEnabled is set by race_test.go; the binary is then built with -race too.
var raceEnabled bool

const (
	procTimeout = 30 * time.Second // bound on every process
	waitTimeout = 10 * time.Second // bound on every wait for output or exit
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// ferryBinary builds the binary once per test run.
func ferryBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "ferry-e2e-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "ferry")
		args := []string{"build", "-o", build.bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// output collects a process's stdout or stderr and lets tests wait on it.
type output struct {
	mu      sync.Mutex // guards buf, changed
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns the text so far and a channel closed on the next write.
func (o *output) snapshot() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}

func (o *output) String() string { s, _ := o.snapshot(); return s }

// lines returns the complete lines written so far.
func (o *output) lines() []string {
	s := o.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// proc is a ferry process.
type proc struct {
	t              *testing.T
	args           []string
	cmd            *exec.Cmd
	stdout, stderr *output
	done           chan struct{} // closed when the process has exited
}

// start runs ferry with args against the server at url (FERRY_SERVER),
// feeding it stdin, and kills it when the test ends.
func start(t *testing.T, url, stdin string, args ...string) *proc {
	t.Helper()
	return startWithStdin(t, url, strings.NewReader(stdin), args...)
}

// startWithStdin is start with any stdin.
func startWithStdin(t *testing.T, url string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	p := &proc{t: t, args: args, stdout: newOutput(), stderr: newOutput(), done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, ferryBinary(t), args...)
	p.cmd.Env = append(cleanEnv(), "FERRY_SERVER="+url)
	p.cmd.Stdin = stdin
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ferry %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("ferry %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout, p.stderr)
		}
	})
	return p
}

// cleanEnv is the test's environment without FERRY_* variables. A -race
// binary would otherwise sleep a second at exit.
func cleanEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FERRY_") || strings.HasPrefix(kv, "GORACE=")
	})
	return append(env, "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
}

// runFerry runs ferry to completion and returns its exit status and output.
func runFerry(t *testing.T, url, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, url, stdin, args...)
	code = p.wait()
	return code, p.stdout.String(), p.stderr.String()
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(waitTimeout):
		p.t.Fatalf("ferry %s: still running after %s\nstderr: %s", strings.Join(p.args, " "), waitTimeout, p.stderr)
		return -1
	}
}

// waitFor waits until o's text satisfies cond, failing the test when the
// process exits first or the deadline passes.
func (p *proc) waitFor(o *output, what string, cond func(string) bool) {
	p.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		s, changed := o.snapshot()
		if cond(s) {
			return
		}
		select {
		case <-changed:
		case <-p.done:
			if cond(o.String()) {
				return
			}
			p.t.Fatalf("ferry %s exited (%v) before %s\nstdout: %s\nstderr: %s",
				strings.Join(p.args, " "), p.cmd.ProcessState, what, p.stdout, p.stderr)
		case <-deadline:
			p.t.Fatalf("ferry %s: no %s after %s\nstdout: %s\nstderr: %s",
				strings.Join(p.args, " "), what, waitTimeout, p.stdout, p.stderr)
		}
	}
}

// waitStderr waits until stderr contains s.
func (p *proc) waitStderr(s string) {
	p.t.Helper()
	p.waitFor(p.stderr, fmt.Sprintf("%q on stderr", s), func(text string) bool { return strings.Contains(text, s) })
}

// waitLines waits until stdout holds n complete lines and returns them.
func (p *proc) waitLines(n int) []string {
	p.t.Helper()
	p.waitFor(p.stdout, fmt.Sprintf("%d lines on stdout", n), func(text string) bool { return strings.Count(text, "\n") >= n })
	return p.stdout.lines()
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// expect checks an exit status and that stderr contains want.
func expect(t *testing.T, what string, code, wantCode int, stderr, want string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: exit %d, want %d; stderr: %s", what, code, wantCode, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("%s: stderr %q lacks %q", what, stderr, want)
	}
}

func TestE2EPubSub(t *testing.T) {
	srv := ferrytest.New(t)
	sub := start(t, srv.URL(), "", "sub", "demo.x", "--count", "3")
	sub.waitStderr("ferry: subscribed to demo.x")
	code, _, stderr := runFerry(t, srv.URL(), "", "pub", "demo.x", "hello", "--count", "3")
	expect(t, "pub", code, 0, stderr, "")
	if code := sub.wait(); code != 0 {
		t.Errorf("sub exit %d; stderr: %s", code, sub.stderr)
	}
	if got, want := sub.stdout.lines(), []string{"hello", "hello", "hello"}; !slices.Equal(got, want) {
		t.Errorf("sub printed %q, want %q", got, want)
	}
}

func TestE2EPubStdinLines(t *testing.T) {
	srv := ferrytest.New(t)
	sub := start(t, srv.URL(), "", "sub", "demo.lines", "--count", "3")
	sub.waitStderr("ferry: subscribed to demo.lines")
	code, _, stderr := runFerry(t, srv.URL(), "one\ntwo\r\nthree\n", "pub", "demo.lines")
	expect(t, "pub", code, 0, stderr, "")
	if code := sub.wait(); code != 0 {
		t.Errorf("sub exit %d", code)
	}
	if got, want := sub.stdout.lines(), []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("sub printed %q, want %q", got, want)
	}
}

func TestE2EWildcardJSON(t *testing.T) {
	srv := ferrytest.New(t)
	sub := start(t, srv.URL(), "", "sub", "demo.>", "--json", "--count", "2")
	sub.waitStderr("ferry: subscribed to demo.>")
	code, _, stderr := runFerry(t, srv.URL(), "", "pub", "--id", "pub-1", "demo.hello", "hi <there>", "--header", "k=v", "--header", "k=w")
	expect(t, "pub", code, 0, stderr, "")
	code, _, stderr = runFerry(t, srv.URL(), "", "pub", "demo.bin", "\xff\xfe")
	expect(t, "pub binary", code, 0, stderr, "")
	lines := sub.waitLines(2)
	var text, bin map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &text); err != nil {
		t.Fatalf("line 1 %q: %v", lines[0], err)
	}
	want := map[string]any{
		"subject": "demo.hello", "reply": "", "from": "pub-1", "mode": "publish",
		"headers": map[string]any{"k": []any{"v", "w"}}, "payload": "hi <there>",
	}
	if fmt.Sprint(text) != fmt.Sprint(want) {
		t.Errorf("line 1 = %v\nwant     %v", text, want)
	}
	if err := json.Unmarshal([]byte(lines[1]), &bin); err != nil {
		t.Fatalf("line 2 %q: %v", lines[1], err)
	}
	if _, has := bin["payload"]; has || bin["payload_base64"] != "//4=" || bin["subject"] != "demo.bin" {
		t.Errorf("line 2 = %v, want payload_base64 //4= and no payload", bin)
	}
}

func TestE2EGroupSharesMessages(t *testing.T) {
	srv := ferrytest.New(t)
	subs := []*proc{
		start(t, srv.URL(), "", "sub", "work.q", "--group", "workers"),
		start(t, srv.URL(), "", "sub", "work.q", "--group", "workers"),
	}
	for _, s := range subs {
		s.waitStderr("ferry: subscribed to work.q")
	}
	var in []string
	for i := range 10 {
		in = append(in, fmt.Sprintf("m%d", i))
	}
	code, _, stderr := runFerry(t, srv.URL(), strings.Join(in, "\n")+"\n", "pub", "work.q")
	expect(t, "pub", code, 0, stderr, "")
	// Each message goes to one member: wait for the total, then check.
	all := waitTotalLines(t, subs, len(in))
	slices.Sort(all)
	slices.Sort(in)
	if !slices.Equal(all, in) {
		t.Errorf("members received %q together, want each of %q once", all, in)
	}
	for i, s := range subs {
		if len(s.stdout.lines()) == 0 {
			t.Errorf("member %d received nothing; round-robin should share", i)
		}
		s.signal(syscall.SIGINT)
		if code := s.wait(); code != 0 {
			t.Errorf("member %d exit %d after SIGINT, want 0", i, code)
		}
	}
}

// waitTotalLines waits until the processes printed n lines together.
func waitTotalLines(t *testing.T, ps []*proc, n int) []string {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for {
		var all []string
		for _, p := range ps {
			all = append(all, p.stdout.lines()...)
		}
		if len(all) >= n {
			return all
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("got %d lines, want %d: %q", len(all), n, all)
		}
	}
}

func TestE2ERequestReply(t *testing.T) {
	srv := ferrytest.New(t)
	rep := start(t, srv.URL(), "", "reply", "demo.echo", "--echo", "--count", "1")
	rep.waitStderr("ferry: replying on demo.echo")
	code, stdout, stderr := runFerry(t, srv.URL(), "", "req", "demo.echo", "ping")
	expect(t, "req", code, 0, stderr, "")
	if stdout != "ping\n" {
		t.Errorf("req printed %q, want the echo", stdout)
	}
	if code := rep.wait(); code != 0 {
		t.Errorf("reply exit %d", code)
	}
	if got := rep.stdout.String(); got != "ping\n" {
		t.Errorf("reply printed %q, want the request", got)
	}
}

func TestE2ERequestToEndpoint(t *testing.T) {
	srv := ferrytest.New(t)
	rep := start(t, srv.URL(), "", "reply", "--id", "svc-1", "svc.time", "noon")
	rep.waitStderr("ferry: replying on svc.time as svc-1")
	code, stdout, stderr := runFerry(t, srv.URL(), "", "req", "--to", "svc-1", "svc.time", "")
	expect(t, "req --to", code, 0, stderr, "")
	if stdout != "noon\n" {
		t.Errorf("req printed %q, want noon", stdout)
	}
	code, _, stderr = runFerry(t, srv.URL(), "", "req", "--to", "ghost", "svc.time", "")
	expect(t, "req --to ghost", code, 1, stderr, "ferry: endpoint ghost is not connected or has no inbox subscription on svc.time\n")
}

func TestE2ENoResponders(t *testing.T) {
	srv := ferrytest.New(t)
	begin := time.Now()
	code, stdout, stderr := runFerry(t, srv.URL(), "", "req", "nobody.home", "hi", "--timeout", "5s")
	expect(t, "req", code, 1, stderr, "ferry: no responders for nobody.home\n")
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("took %s; no responders should fail at once, not time out", d)
	}
}

func TestE2ERequestTimeout(t *testing.T) {
	srv := ferrytest.New(t)
	nc, err := ferry.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe("slow.q", func(*ferry.Msg) {}); err != nil { // never answers
		t.Fatal(err)
	}
	if err := nc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runFerry(t, srv.URL(), "", "req", "slow.q", "hi", "--timeout", "300ms")
	expect(t, "req", code, 1, stderr, "ferry: timeout after 300ms waiting for a reply on slow.q\n")
}

func TestE2ESendListen(t *testing.T) {
	srv := ferrytest.New(t)
	lis := start(t, srv.URL(), "", "listen", "--id", "ep-listen", "--count", "1")
	lis.waitStderr("ferry: listening on > as ep-listen")
	code, _, stderr := runFerry(t, srv.URL(), "", "send", "--id", "sender-1", "ep-listen", "demo.u", "hi there")
	expect(t, "send", code, 0, stderr, "")
	if code := lis.wait(); code != 0 {
		t.Errorf("listen exit %d", code)
	}
	if got, want := lis.stdout.String(), "unicast from sender-1 demo.u: hi there\n"; got != want {
		t.Errorf("listen printed %q, want %q", got, want)
	}
	code, _, stderr = runFerry(t, srv.URL(), "", "send", "ghost", "demo.u", "hi")
	expect(t, "send to ghost", code, 1, stderr, "ferry: endpoint ghost is not connected or has no inbox subscription on demo.u\n")
}

func TestE2EServe(t *testing.T) {
	addr, httpAddr := freeAddr(t), freeAddr(t)
	srv := start(t, "", "", "serve", "--listen", addr, "--http", httpAddr, "--data", t.TempDir(), "--log-format", "json")
	srv.waitStderr(`"protocol":"http"`)
	if !strings.Contains(srv.stderr.String(), addr) || !strings.Contains(srv.stderr.String(), httpAddr) {
		t.Errorf("listening logs lack the address %s or %s: %s", addr, httpAddr, srv.stderr)
	}
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
	url := "ferry://" + addr
	sub := start(t, url, "", "sub", "demo.serve", "--count", "1")
	sub.waitStderr("ferry: subscribed to demo.serve")
	code, _, stderr := runFerry(t, url, "", "pub", "demo.serve", "through serve")
	expect(t, "pub", code, 0, stderr, "")
	if got := sub.waitLines(1); !slices.Equal(got, []string{"through serve"}) {
		t.Errorf("sub printed %q", got)
	}
	srv.signal(syscall.SIGTERM)
	if code := srv.wait(); code != 0 {
		t.Errorf("serve exit %d after SIGTERM, want 0; stderr: %s", code, srv.stderr)
	}
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
