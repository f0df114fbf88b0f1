package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	ferryserver "github.com/ferrymq/ferry/server"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// errUnsupported marks a feature a broker does not have; the table shows "—".
var errUnsupported = errors.New("not supported by this broker")

// broker is one message broker under test. start and stop bracket every
// run, so each run begins with a fresh server.
type broker interface {
	name() string
	start() error
	stop()
	connect(o connOpts) (client, error)
}

// connOpts are per-connection settings; brokers ignore what they lack.
type connOpts struct {
	hasLoc   bool
	lat, lon float64 // Ferry endpoint location (for the nearest policy)
}

// groupPolicy is how a queue group picks the member for each message.
type groupPolicy int

const (
	policyDefault groupPolicy = iota // NATS: random member; Ferry: round-robin
	policyNearest                    // Ferry only; NATS keeps its plain queue group
)

// client is one connection to a broker.
type client interface {
	publish(subject string, data []byte) error
	subscribe(subject string, fn func()) error
	queueSubscribe(subject, group string, p groupPolicy, fn func()) error
	respond(subject string) error // echo every request's payload back
	request(ctx context.Context, subject string, data []byte) error
	flush(ctx context.Context) error // wait until the server has processed all publishes
	asyncErr() error                 // first error reported asynchronously (slow consumer, …)
	// createLog makes subject durable (a Ferry log with the given sync
	// mode, a JetStream file stream; sync is ignored by NATS).
	createLog(ctx context.Context, name, subject, sync string) error
	// publishDurable publishes and waits for the server's acknowledgement
	// that the message is stored.
	publishDurable(ctx context.Context, subject string, data []byte) error
	close()
}

// errBox keeps the first asynchronous error of a connection.
type errBox struct {
	mu  sync.Mutex
	err error
}

func (b *errBox) set(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

func (b *errBox) get() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// ---- Ferry ----------------------------------------------------------------

type ferryBroker struct {
	s   *ferryserver.Server
	dir string
}

func (b *ferryBroker) name() string { return "ferry" }

func (b *ferryBroker) start() error {
	dir, err := os.MkdirTemp("", "ferry-bench-")
	if err != nil {
		return err
	}
	s, err := ferryserver.New(ferryserver.Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	b.s, b.dir = s, dir
	return nil
}

func (b *ferryBroker) stop() {
	if b.s != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b.s.Shutdown(ctx)
		cancel()
		os.RemoveAll(b.dir)
		b.s = nil
	}
}

func (b *ferryBroker) connect(o connOpts) (client, error) {
	c := &ferryClient{}
	opts := []ferry.Option{
		ferry.WithReconnect(false),
		ferry.WithErrorHandler(c.errs.set),
	}
	if o.hasLoc {
		opts = append(opts, ferry.WithLocation(o.lat, o.lon))
	}
	nc, err := ferry.Connect(b.s.URL(), opts...)
	if err != nil {
		return nil, err
	}
	c.c = nc
	return c, nil
}

type ferryClient struct {
	c    *ferry.Conn
	errs errBox
}

func (c *ferryClient) publish(subject string, data []byte) error { return c.c.Publish(subject, data) }

func (c *ferryClient) subscribe(subject string, fn func()) error {
	_, err := c.c.Subscribe(subject, func(*ferry.Msg) { fn() })
	return err
}

func (c *ferryClient) queueSubscribe(subject, group string, p groupPolicy, fn func()) error {
	opts := []ferry.SubOption{ferry.InGroup(group)}
	if p == policyNearest {
		opts = append(opts, ferry.WithPolicy(ferry.Nearest))
	}
	_, err := c.c.Subscribe(subject, func(*ferry.Msg) { fn() }, opts...)
	return err
}

func (c *ferryClient) respond(subject string) error {
	_, err := c.c.Respond(subject, func(m *ferry.Msg) []byte {
		if m.Data == nil {
			return []byte{} // nil would decline
		}
		return m.Data
	})
	return err
}

func (c *ferryClient) request(ctx context.Context, subject string, data []byte) error {
	_, err := c.c.Request(ctx, subject, data)
	return err
}

func (c *ferryClient) createLog(ctx context.Context, name, subject, sync string) error {
	return c.c.CreateLog(ctx, ferry.LogConfig{Name: name, Subjects: []string{subject}, Storage: ferry.StorageFile, Sync: sync})
}

func (c *ferryClient) publishDurable(ctx context.Context, subject string, data []byte) error {
	_, err := c.c.PublishDurable(ctx, subject, data)
	return err
}

func (c *ferryClient) flush(ctx context.Context) error { return c.c.Flush(ctx) }
func (c *ferryClient) asyncErr() error                 { return c.errs.get() }
func (c *ferryClient) close()                          { c.c.Close() }

// ---- NATS -----------------------------------------------------------------

// natsBroker runs nats-server in process; with jetStream set (the durable
// scenario) it enables JetStream with file storage in a temporary
// directory, at its defaults (sync_interval 2 min: no fsync per message).
type natsBroker struct {
	s         *natsserver.Server
	jetStream bool
	dir       string
}

func (b *natsBroker) name() string { return "nats" }

func (b *natsBroker) start() error {
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	if b.jetStream {
		dir, err := os.MkdirTemp("", "nats-bench-")
		if err != nil {
			return err
		}
		b.dir = dir
		opts.JetStream, opts.StoreDir = true, dir
	}
	s, err := natsserver.NewServer(opts)
	if err != nil {
		b.removeDir()
		return err
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		b.removeDir()
		return errors.New("nats: server not ready within 10s")
	}
	b.s = s
	return nil
}

func (b *natsBroker) removeDir() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
		b.dir = ""
	}
}

func (b *natsBroker) stop() {
	if b.s != nil {
		b.s.Shutdown()
		b.s.WaitForShutdown()
		b.s = nil
	}
	b.removeDir()
}

func (b *natsBroker) connect(connOpts) (client, error) {
	c := &natsClient{}
	nc, err := nats.Connect(b.s.ClientURL(), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { c.errs.set(err) }))
	if err != nil {
		return nil, err
	}
	c.c = nc
	return c, nil
}

type natsClient struct {
	c    *nats.Conn
	js   jetstream.JetStream // made on first use
	errs errBox
}

func (c *natsClient) jetStream() (jetstream.JetStream, error) {
	if c.js == nil {
		js, err := jetstream.New(c.c)
		if err != nil {
			return nil, err
		}
		c.js = js
	}
	return c.js, nil
}

// createLog ignores sync: the stream keeps the server's default.
func (c *natsClient) createLog(ctx context.Context, name, subject, _ string) error {
	js, err := c.jetStream()
	if err != nil {
		return err
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage})
	return err
}

// publishDurable waits for the stream's PubAck.
func (c *natsClient) publishDurable(ctx context.Context, subject string, data []byte) error {
	js, err := c.jetStream()
	if err != nil {
		return err
	}
	_, err = js.Publish(ctx, subject, data)
	return err
}

func (c *natsClient) publish(subject string, data []byte) error { return c.c.Publish(subject, data) }

func (c *natsClient) subscribe(subject string, fn func()) error {
	if _, err := c.c.Subscribe(subject, func(*nats.Msg) { fn() }); err != nil {
		return err
	}
	return c.c.Flush() // the server has the subscription when this returns
}

// queueSubscribe ignores p: NATS queue groups have no policies.
func (c *natsClient) queueSubscribe(subject, group string, _ groupPolicy, fn func()) error {
	if _, err := c.c.QueueSubscribe(subject, group, func(*nats.Msg) { fn() }); err != nil {
		return err
	}
	return c.c.Flush()
}

func (c *natsClient) respond(subject string) error {
	if _, err := c.c.Subscribe(subject, func(m *nats.Msg) { m.Respond(m.Data) }); err != nil {
		return err
	}
	return c.c.Flush()
}

func (c *natsClient) request(ctx context.Context, subject string, data []byte) error {
	_, err := c.c.RequestWithContext(ctx, subject, data)
	return err
}

func (c *natsClient) flush(ctx context.Context) error { return c.c.FlushWithContext(ctx) }
func (c *natsClient) asyncErr() error                 { return c.errs.get() }
func (c *natsClient) close()                          { c.c.Close() }

// ---- Redis ----------------------------------------------------------------

// redisBroker runs redis-server as a child process on a free loopback port.
type redisBroker struct {
	path string // redis-server executable
	cmd  *exec.Cmd
	dir  string
	addr string
}

func (b *redisBroker) name() string { return "redis" }

func (b *redisBroker) start() error {
	cmd, addr, dir, err := startRedis(b.path, 1000)
	if err != nil {
		return err
	}
	b.cmd, b.addr, b.dir = cmd, addr, dir
	return nil
}

func (b *redisBroker) stop() {
	if b.cmd != nil {
		killWait(b.cmd)
		os.RemoveAll(b.dir)
		b.cmd = nil
	}
}

// startRedis starts redis-server on a free loopback port without
// persistence and waits (at most 10 s) until it answers PING.
func startRedis(path string, maxClients int) (*exec.Cmd, string, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	dir, err := os.MkdirTemp("", "redis-bench-")
	if err != nil {
		return nil, "", "", err
	}
	cmd := exec.Command(path, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--maxclients", strconv.Itoa(maxClients), "--loglevel", "warning")
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", "", fmt.Errorf("redis: start: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitRedis(addr, 10*time.Second); err != nil {
		killWait(cmd)
		os.RemoveAll(dir)
		return nil, "", "", err
	}
	return cmd, addr, dir, nil
}

// waitRedis polls addr with PING until it answers +PONG or d passes.
func waitRedis(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 7)
			_, err = c.Write([]byte("PING\r\n"))
			if err == nil {
				_, err = c.Read(buf)
			}
			c.Close()
			if err == nil && string(buf) == "+PONG\r\n" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis: no PONG from %s within %v", addr, d)
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before it is used; the callers fail clearly then.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// killWait kills a child process and waits (at most 5 s) for it to exit.
func killWait(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Kill()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

func (b *redisBroker) connect(connOpts) (client, error) {
	rdb := redis.NewClient(&redis.Options{Addr: b.addr, Protocol: 2, DisableIdentity: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	return &redisClient{rdb: rdb, pipe: rdb.Pipeline()}, nil
}

// redisClient publishes through a pipeline, sent every redisBatch commands
// or redisBatchBytes bytes (and by flush), the usual way to publish fast
// with go-redis. Each subscription holds its own connection.
type redisClient struct {
	rdb     *redis.Client
	pipe    redis.Pipeliner
	n, size int
	mu      sync.Mutex
	subs    []*redis.PubSub
}

const (
	redisBatch      = 512
	redisBatchBytes = 256 << 10
)

func (c *redisClient) publish(subject string, data []byte) error {
	c.pipe.Publish(context.Background(), subject, data)
	c.n++
	c.size += len(data)
	if c.n >= redisBatch || c.size >= redisBatchBytes {
		return c.exec(context.Background())
	}
	return nil
}

func (c *redisClient) exec(ctx context.Context) error {
	if c.n == 0 {
		return nil
	}
	c.n, c.size = 0, 0
	_, err := c.pipe.Exec(ctx)
	return err
}

func (c *redisClient) subscribe(subject string, fn func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps := c.rdb.Subscribe(ctx, subject)
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		ps.Close()
		return err
	}
	c.mu.Lock()
	c.subs = append(c.subs, ps)
	c.mu.Unlock()
	go func() {
		for {
			if _, err := ps.ReceiveMessage(context.Background()); err != nil {
				return // closed
			}
			fn()
		}
	}()
	return nil
}

func (c *redisClient) queueSubscribe(string, string, groupPolicy, func()) error {
	return errUnsupported
}
func (c *redisClient) createLog(context.Context, string, string, string) error {
	return errUnsupported
}
func (c *redisClient) publishDurable(context.Context, string, []byte) error { return errUnsupported }
func (c *redisClient) respond(string) error                                 { return errUnsupported }
func (c *redisClient) request(context.Context, string, []byte) error        { return errUnsupported }
func (c *redisClient) flush(ctx context.Context) error                      { return c.exec(ctx) }
func (c *redisClient) asyncErr() error                                      { return nil }

func (c *redisClient) close() {
	c.mu.Lock()
	for _, ps := range c.subs {
		ps.Close()
	}
	c.mu.Unlock()
	c.rdb.Close()
}
