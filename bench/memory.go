package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/nats-io/nats.go"
)

// The memory scenario runs each broker as a process of its own and reads
// its resident set size (VmRSS): idle, with cfg.conns idle connections,
// and with cfg.subs subscriptions on distinct subjects over memSubConns
// connections. Each of the two measurements starts a fresh process.

const (
	memSubConns    = 10
	memStepTimeout = 90 * time.Second // for opening the connections or the subscriptions
	memWorkers     = 16               // connections opened in parallel
)

// binaries builds the ferry and natsd executables, each once per
// benchmark and only when needed, into a temporary directory.
type binaries struct {
	mu    sync.Mutex
	dir   string
	built map[string]string // broker name → executable
	err   map[string]error
	redis string // redis-server, or "" when absent
}

// path returns the executable that runs broker name as a process.
func (bs *binaries) path(name string) (string, error) {
	if name == "redis" {
		return bs.redis, nil
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if p, ok := bs.built[name]; ok {
		return p, bs.err[name]
	}
	if bs.built == nil {
		bs.built, bs.err = map[string]string{}, map[string]error{}
	}
	p, err := bs.build(name)
	bs.built[name], bs.err[name] = p, err
	return p, err
}

func (bs *binaries) build(name string) (string, error) {
	if bs.dir == "" {
		dir, err := os.MkdirTemp("", "ferry-bench-bin-")
		if err != nil {
			return "", err
		}
		bs.dir = dir
	}
	out := filepath.Join(bs.dir, name)
	cmd := exec.Command("go", "build", "-o", out, "github.com/ferrymq/ferry/bench/cmd/natsd")
	if name == "ferry" {
		// The real binary, built in the main module with its own go.mod.
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ferrymq/ferry").Output()
		if err != nil {
			return "", fmt.Errorf("locate the ferry module (run from bench/): %w", err)
		}
		cmd = exec.Command("go", "build", "-o", out, "./cmd/ferry")
		cmd.Dir = strings.TrimSpace(string(root))
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	return out, nil
}

func (bs *binaries) cleanup() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.dir != "" {
		os.RemoveAll(bs.dir)
	}
}

// proc is a broker running as a child process.
type proc struct {
	cmd  *exec.Cmd
	addr string // host:port
	dir  string // scratch directory, removed by stop
}

func (p *proc) stop() {
	killWait(p.cmd)
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

func (p *proc) rss() (int64, error) { return rssBytes(p.cmd.Process.Pid) }

var listenAddr = regexp.MustCompile(`"addr":"([^"]+)"`)

// launch starts broker name as a process allowing maxConns clients.
func launch(bs *binaries, name string, maxConns int) (*proc, error) {
	exe, err := bs.path(name)
	if err != nil {
		return nil, err
	}
	switch name {
	case "redis":
		cmd, addr, dir, err := startRedis(exe, maxConns)
		if err != nil {
			return nil, err
		}
		return &proc{cmd: cmd, addr: addr, dir: dir}, nil
	case "ferry":
		dir, err := os.MkdirTemp("", "ferry-bench-data-")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, "serve", "--listen", "127.0.0.1:0", "--data", dir, "--log-format", "json")
		p, err := startAnnounced(cmd, true, func(line string) string {
			if m := listenAddr.FindStringSubmatch(line); m != nil && strings.Contains(line, `"listening"`) {
				return m[1]
			}
			return ""
		})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		p.dir = dir
		return p, nil
	case "nats":
		cmd := exec.Command(exe, "-max-conn", strconv.Itoa(maxConns))
		return startAnnounced(cmd, false, func(line string) string {
			a, _ := strings.CutPrefix(line, "listening ")
			if a == line {
				return ""
			}
			return a
		})
	}
	return nil, fmt.Errorf("unknown broker %q", name)
}

// startAnnounced starts cmd and waits (at most 15 s) for a line on its
// stderr (or stdout) from which addr extracts the listening address.
func startAnnounced(cmd *exec.Cmd, stderr bool, addr func(string) string) (*proc, error) {
	cmd.SysProcAttr = childAttr()
	var out io.ReadCloser
	var err error
	if stderr {
		out, err = cmd.StderrPipe()
	} else {
		out, err = cmd.StdoutPipe()
	}
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a := addr(sc.Text()); a != "" {
				found <- a
				break
			}
		}
		io.Copy(io.Discard, out) // keep the pipe drained until exit
		close(found)
	}()
	select {
	case a, ok := <-found:
		if ok {
			return &proc{cmd: cmd, addr: a}, nil
		}
		killWait(cmd)
		return nil, fmt.Errorf("%s exited before listening", filepath.Base(cmd.Path))
	case <-time.After(15 * time.Second):
		killWait(cmd)
		return nil, fmt.Errorf("%s did not announce its address within 15s", filepath.Base(cmd.Path))
	}
}

// settledRSS waits for the process to settle and reads its RSS.
func settledRSS(p *proc) (int64, error) {
	time.Sleep(500 * time.Millisecond)
	a, err := p.rss()
	if err != nil {
		return 0, err
	}
	time.Sleep(500 * time.Millisecond)
	b, err := p.rss()
	return max(a, b), err
}

// runMemory measures broker name: RSS idle, bytes per idle connection,
// bytes per subscription.
func runMemory(bs *binaries, name string, cfg config) (map[string]float64, error) {
	if _, err := bs.path(name); err != nil {
		return nil, err
	}
	t := time.Now()
	idle, perConn, err := measureConns(bs, name, cfg.conns)
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	fmt.Fprintf(cfg.verbose, "  %s: %d connections measured in %.1fs\n", name, cfg.conns, time.Since(t).Seconds())
	t = time.Now()
	perSub, err := measureSubs(bs, name, cfg.subs)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	fmt.Fprintf(cfg.verbose, "  %s: %d subscriptions measured in %.1fs\n", name, cfg.subs, time.Since(t).Seconds())
	return map[string]float64{mIdle: float64(idle) / (1 << 20), mConn: perConn, mSub: perSub}, nil
}

func measureConns(bs *binaries, name string, n int) (idle int64, perConn float64, err error) {
	p, err := launch(bs, name, n+100)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	base, err := settledRSS(p)
	if err != nil {
		return 0, 0, err
	}
	conns, err := openConns(name, p.addr, n)
	defer closeAll(conns)
	if err != nil {
		return 0, 0, err
	}
	after, err := settledRSS(p)
	if err != nil {
		return 0, 0, err
	}
	return base, float64(after-base) / float64(n), nil
}

func measureSubs(bs *binaries, name string, n int) (float64, error) {
	p, err := launch(bs, name, 1000)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	var subbers []subscriber
	defer func() {
		for _, s := range subbers {
			s.Close()
		}
	}()
	for range memSubConns {
		s, err := dialSubscriber(name, p.addr)
		if err != nil {
			return 0, err
		}
		subbers = append(subbers, s)
	}
	base, err := settledRSS(p)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), memStepTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(subbers))
	for i, s := range subbers {
		wg.Go(func() {
			k := n / len(subbers)
			if i < n%len(subbers) {
				k++
			}
			errs[i] = s.subscribe(ctx, i, k)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	after, err := settledRSS(p)
	if err != nil {
		return 0, err
	}
	return float64(after-base) / float64(n), nil
}

// openConns opens n idle connections that completed the handshake.
func openConns(name, addr string, n int) ([]io.Closer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), memStepTimeout)
	defer cancel()
	conns := make([]io.Closer, n)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range memWorkers {
		wg.Go(func() {
			for i := range next {
				c, err := dialIdle(ctx, name, addr)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d of %d: %w", i+1, n, err)
					}
					mu.Unlock()
					cancel()
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("opening %d connections: %w", n, ctx.Err())
	}
	return conns, firstErr
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// dialIdle opens one connection and completes the broker's handshake.
func dialIdle(ctx context.Context, name, addr string) (io.Closer, error) {
	switch name {
	case "ferry":
		c, err := ferry.Connect("ferry://"+addr, ferry.WithReconnect(false), ferry.WithPingInterval(0), ferry.WithTimeout(10*time.Second))
		if err != nil {
			return nil, err
		}
		return closerFunc(c.Close), nil
	case "nats":
		c, err := nats.Connect("nats://"+addr, nats.NoReconnect(), nats.PingInterval(time.Hour), nats.Timeout(10*time.Second))
		if err != nil {
			return nil, err
		}
		return closerFunc(func() error { c.Close(); return nil }), nil
	case "redis":
		return redisRaw(ctx, addr)
	}
	return nil, fmt.Errorf("unknown broker %q", name)
}

// redisRaw dials Redis and checks it with PING: Redis has no other handshake.
func redisRaw(ctx context.Context, addr string) (*redisConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &redisConn{nc: nc, r: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = nc.Write([]byte("PING\r\n"))
	if err == nil {
		var line []byte
		line, err = c.r.ReadSlice('\n')
		if err == nil && string(line) != "+PONG\r\n" {
			err = fmt.Errorf("redis: PING answered %q", line)
		}
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

type redisConn struct {
	nc net.Conn
	r  *bufio.Reader
}

func (c *redisConn) Close() error { return c.nc.Close() }

// subscriber holds subscriptions on one connection.
type subscriber interface {
	subscribe(ctx context.Context, conn, n int) error // n distinct subjects mem.<conn>.<i>
	Close() error
}

func memSubject(conn, i int) string { return "mem." + strconv.Itoa(conn) + "." + strconv.Itoa(i) }

func dialSubscriber(name, addr string) (subscriber, error) {
	switch name {
	case "ferry":
		c, err := ferry.Connect("ferry://"+addr, ferry.WithReconnect(false), ferry.WithPingInterval(0))
		if err != nil {
			return nil, err
		}
		return ferrySubs{c}, nil
	case "nats":
		c, err := nats.Connect("nats://"+addr, nats.NoReconnect())
		if err != nil {
			return nil, err
		}
		return natsSubs{c}, nil
	case "redis":
		return redisRaw(context.Background(), addr)
	}
	return nil, fmt.Errorf("unknown broker %q", name)
}

type ferrySubs struct{ c *ferry.Conn }

func (s ferrySubs) Close() error { return s.c.Close() }

func (s ferrySubs) subscribe(ctx context.Context, conn, n int) error {
	noop := func(*ferry.Msg) {}
	for i := range n {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d subscriptions: %w", i, n, ctx.Err())
		}
		if _, err := s.c.Subscribe(memSubject(conn, i), noop); err != nil {
			return fmt.Errorf("subscription %d: %w", i+1, err)
		}
	}
	return s.c.Flush(ctx)
}

type natsSubs struct{ c *nats.Conn }

func (s natsSubs) Close() error { s.c.Close(); return nil }

func (s natsSubs) subscribe(ctx context.Context, conn, n int) error {
	ch := make(chan *nats.Msg, 1) // one channel, no goroutine per subscription
	for i := range n {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d subscriptions: %w", i, n, ctx.Err())
		}
		if _, err := s.c.ChanSubscribe(memSubject(conn, i), ch); err != nil {
			return fmt.Errorf("subscription %d: %w", i+1, err)
		}
	}
	return s.c.FlushWithContext(ctx)
}

// subscribe sends SUBSCRIBE in batches of 500 channels and counts the
// confirmations (each ends with the ":<count>" line).
func (c *redisConn) subscribe(ctx context.Context, conn, n int) error {
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(d)
		defer c.nc.SetDeadline(time.Time{})
	}
	w := bufio.NewWriter(c.nc)
	for i := 0; i < n; {
		k := min(500, n-i)
		fmt.Fprintf(w, "*%d\r\n$9\r\nSUBSCRIBE\r\n", k+1)
		for j := range k {
			s := memSubject(conn, i+j)
			fmt.Fprintf(w, "$%d\r\n%s\r\n", len(s), s)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		for confirmed := 0; confirmed < k; {
			line, err := c.r.ReadSlice('\n')
			if err != nil {
				return fmt.Errorf("after %d subscriptions: %w", i+confirmed, err)
			}
			switch line[0] {
			case ':':
				confirmed++
			case '-':
				return fmt.Errorf("redis: %s", strings.TrimSpace(string(line)))
			}
		}
		i += k
	}
	return nil
}
