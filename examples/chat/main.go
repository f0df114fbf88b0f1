package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/examples/internal/embedded"
)

func main() { embedded.Main("chat", run) }

// service is the name the echo endpoint listens on.
const service = "echo"

// defaultLines are what the client says when given no lines.
var defaultLines = []string{"hello", "how are you?", "bye"}

// run is the whole example, reading stdin with -interactive.
func run(ctx context.Context, out io.Writer, args []string) error {
	return chat(ctx, os.Stdin, out, args)
}

// chat runs the example: the flags and the lines to send are in args,
// -interactive reads the lines from in, and the conversation goes to out.
func chat(ctx context.Context, in io.Reader, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: chat [flags] [LINE...]\n")
		fs.PrintDefaults()
	}
	serverURL := fs.String("server", "", "broker URL, e.g. ferry://127.0.0.1:7420 (default: start an embedded broker)")
	role := fs.String("role", "both", "what to run: both, echo (the service, until interrupted) or client")
	interactive := fs.Bool("interactive", false, "send the lines read from stdin, until its end")
	echoID := fs.String("id", "echo-1", "the echo service's endpoint ID")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on the conversation, unless -interactive")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *role != "both" && *role != "echo" && *role != "client":
		return fmt.Errorf("-role is %q; want both, echo or client", *role)
	case *role == "client" && *serverURL == "":
		return errors.New("-role client needs -server: an embedded broker has no echo service")
	case *interactive && fs.NArg() > 0:
		return errors.New("give LINEs or -interactive, not both")
	case *role == "echo" && (*interactive || fs.NArg() > 0):
		return errors.New("-role echo sends no lines")
	}
	lines := fs.Args()
	if len(lines) == 0 {
		lines = defaultLines
	}
	out = &syncWriter{w: out} // the echo service and the client share it

	url := *serverURL
	if url == "" {
		srv, stop, err := embedded.Start("chat")
		if err != nil {
			return err
		}
		defer stop()
		url = srv.URL()
		fmt.Fprintf(out, "broker: embedded at %s\n", url)
	}

	if *role != "client" {
		echo, err := startEcho(ctx, url, *echoID, out)
		if err != nil {
			return err
		}
		defer echo.stop()
		if *role == "echo" {
			fmt.Fprintf(out, "echo: listening on service %s as %s; interrupt to stop\n", service, *echoID)
			<-ctx.Done()
			return nil
		}
	}

	if *interactive {
		return talk(ctx, url, readLines(ctx, in), out)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ch := make(chan string, len(lines))
	for _, l := range lines {
		ch <- l
	}
	close(ch)
	return talk(ctx, url, ch, out)
}

// talk dials the echo service, says each line and prints the reply, then
// half-closes the channel and waits for the service to half-close too.
func talk(ctx context.Context, url string, lines <-chan string, out io.Writer) error {
	nc, err := ferry.Connect(url, ferry.WithName("chat-client"))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer nc.Close()
	// Anycast: any endpoint listening on the service will do.
	ch, err := nc.Dial(ctx, ferry.Anycast(ferry.RoundRobin), service)
	if errors.Is(err, ferry.ErrNoResponders) {
		return fmt.Errorf("client: nobody listens on service %s; start one with -role echo", service)
	}
	if err != nil {
		return fmt.Errorf("client: dial %s: %w", service, err)
	}
	defer ch.Close()
	fmt.Fprintf(out, "client: channel %d open on service %s with %s\n", ch.ID(), service, ch.Peer())
	for {
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			break
		}
		fmt.Fprintf(out, "> %s\n", line)
		if err := ch.Send(ctx, []byte(line)); err != nil {
			return fmt.Errorf("client: send: %w", err)
		}
		reply, err := ch.Recv(ctx)
		if err != nil {
			return fmt.Errorf("client: no reply to %q: %w", line, err)
		}
		fmt.Fprintf(out, "< %s\n", reply.Data)
	}
	// Half-close: we send no more, but the service may still send.
	if err := ch.CloseSend(); err != nil {
		return fmt.Errorf("client: close our side: %w", err)
	}
	if m, err := ch.Recv(ctx); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("client: unexpected message %q after our last line", m.Data)
		}
		return fmt.Errorf("client: waiting for the service to close its side: %w", err)
	}
	fmt.Fprintf(out, "client: the service closed its side too; bye\n")
	return nil
}

// readLines sends the lines read from in on the channel it returns, closed
// at the end of in. A read cannot be cancelled, so it runs on its own
// goroutine, which ends at the first line after ctx ended.
func readLines(ctx context.Context, in io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// echoService is an endpoint answering each message of each channel on
// the service upper-cased.
type echoService struct {
	nc     *ferry.Conn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startEcho(ctx context.Context, url, id string, out io.Writer) (*echoService, error) {
	nc, err := ferry.Connect(url, ferry.WithID(id))
	if err != nil {
		return nil, fmt.Errorf("echo: %w", err)
	}
	l, err := nc.Listen(service)
	if err == nil {
		err = nc.Flush(ctx) // the broker knows the service before anyone dials it
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("echo: listen on %s: %w", service, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &echoService{nc: nc, cancel: cancel}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer l.Close()
		for {
			ch, err := l.Accept(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintf(out, "echo: accept: %v\n", err)
				}
				return
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				echo(ctx, ch, out)
			}()
		}
	}()
	return e, nil
}

// stop ends the service and waits for its goroutines.
func (e *echoService) stop() {
	e.cancel()
	e.wg.Wait()
	e.nc.Close()
}

// echo answers the messages of one channel until the peer half-closes,
// then half-closes too.
func echo(ctx context.Context, ch *ferry.Channel, out io.Writer) {
	defer ch.Close()
	n := 0
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, io.EOF) {
			fmt.Fprintf(out, "echo: %s closed its side after %s; closing ours\n", ch.Peer(), messages(n))
			_ = ch.CloseSend()
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(out, "echo: channel %d with %s: %v\n", ch.ID(), ch.Peer(), err)
			}
			return
		}
		if err := ch.Send(ctx, bytes.ToUpper(m.Data)); err != nil {
			fmt.Fprintf(out, "echo: channel %d with %s: %v\n", ch.ID(), ch.Peer(), err)
			return
		}
		n++
	}
}

// messages returns "1 message", "3 messages".
func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// syncWriter serialises writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
