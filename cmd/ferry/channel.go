package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type channelCmd struct {
	app     *app
	client  *clientFlags
	target  *targetFlags
	listen  string
	count   int
	json    bool
	window  int
	timeout time.Duration
}

func newChannelCmd(a *app) *cobra.Command {
	cmd, _ := newChannelCommand(a)
	return cmd
}

// newChannelCommand returns the command and its state, for tests.
func newChannelCommand(a *app) (*cobra.Command, *channelCmd) {
	c := &channelCmd{app: a}
	cmd := &cobra.Command{
		Use:   "channel (@ID | anycast) SERVICE | channel --listen SERVICE",
		Short: "Talk both ways with one endpoint over a channel: stdin out, messages in",
		Long: `Open a channel, an ordered, flow-controlled stream in both directions
between two endpoints, and connect it to stdin and stdout: each line read
from stdin (without the line ending) is sent as one message, and each
message received is printed as one line (its payload). Two terminals make a
chat.

  ferry channel @ID SERVICE
      open a channel to the endpoint ID, which listens on SERVICE.
  ferry channel anycast SERVICE [--policy P] [--where SEL]
      open a channel to one endpoint listening on SERVICE, chosen by
      --policy (see 'ferry anycast --help' for the policies).
  ferry channel --listen SERVICE
      accept a channel on SERVICE (with --count N, N channels one after the
      other; 0: until interrupted). Once ready, "ferry: listening for
      channels on SERVICE as ID" is printed to stderr.

The end of stdin half-closes the channel: this side sends no more, but still
prints what the peer sends. A channel is done when both sides have
half-closed; the command then exits with status 0. When the peer aborts the
channel or its connection is lost, the command exits with status 1 and the
reason. To stderr go "ferry: channel N to PEER on SERVICE open" (or "ferry:
channel N from PEER on SERVICE accepted") when the channel opens, and
"ferry: channel N with PEER ended" at its clean end. (The broker does not
tell the dialing side which endpoint an anycast chose: PEER is then the
anycast target, e.g. "anycast(nearest)[type=echo]".) Exits with status 1 at
once when nobody listens on SERVICE ("no responders"). On SIGINT the dialing
side closes the channel and exits with status 130, the listening side with
status 0.

With --listen and several channels in turn, each channel reads stdin until
it ends or stdin does; the next channel goes on with the rest of stdin.

With --json each message is one JSON object per line:
  {"channel":N,"seq":N,"from":"...","service":"...","headers":{"key":["value"]},
   "payload":"..."}
with "payload_base64" instead of "payload" when the payload is not UTF-8.`,
		Example: `  ferry channel --listen chat --id bob
  ferry channel @bob chat --id alice
  ferry channel anycast echo --policy nearest --where type=echo --location 52.52,13.40
  printf 'ping\nping\n' | ferry channel @echo-1 echo --json
  ferry channel --listen support --count 3 < greeting.txt`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("listen") {
				if len(args) > 0 {
					return usageErrorf("unexpected argument %q; --listen takes the SERVICE", args[0])
				}
				return nil
			}
			if len(args) == 0 {
				return usageErrorf("missing TARGET SERVICE (TARGET is @ID or anycast), or give --listen SERVICE")
			}
			return positional([]string{"TARGET", "SERVICE"})(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkWindow(c.window); err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				if err := c.checkListen(cmd); err != nil {
					return err
				}
				return c.listenChannels(cmd.Context(), c.listen)
			}
			target, service, err := c.checkDial(cmd, args)
			if err != nil {
				return err
			}
			return c.dial(cmd.Context(), target, service)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&c.listen, "listen", "l", "", "accept channels on this service instead of opening one")
	f.IntVarP(&c.count, "count", "n", 1, "with --listen: exit after this many channels, one after the other (0: run until interrupted)")
	f.BoolVar(&c.json, "json", false, "print each message as a JSON object")
	f.IntVar(&c.window, "window", 0, "messages the peer may have in flight to this endpoint (0: the client's default, 256)")
	f.DurationVarP(&c.timeout, "timeout", "t", 5*time.Second, "how long to wait for the channel to open")
	c.target = addTargetFlags(cmd)
	return cmd, c
}

// checkListen validates the flags of --listen.
func (c *channelCmd) checkListen(cmd *cobra.Command) error {
	if c.listen == "" {
		return usageErrorf("--listen needs a SERVICE")
	}
	for _, name := range append([]string{"timeout"}, anycastOnly...) {
		if cmd.Flags().Changed(name) {
			return usageErrorf("--%s is for opening a channel; not with --listen", name)
		}
	}
	return checkCount(c.count)
}

// checkDial validates the flags of the dialing form and returns the target
// and the service.
func (c *channelCmd) checkDial(cmd *cobra.Command, args []string) (ferry.Target, string, error) {
	if cmd.Flags().Changed("count") {
		return ferry.Target{}, "", usageErrorf("--count needs --listen")
	}
	return channelTarget(cmd, c.target, args[0], args[1])
}

// channelTarget parses the TARGET SERVICE of 'ferry channel'.
func channelTarget(cmd *cobra.Command, tf *targetFlags, arg, service string) (ferry.Target, string, error) {
	t, err := tf.parse(cmd, arg)
	if err != nil {
		return ferry.Target{}, "", err
	}
	if service == "" {
		return ferry.Target{}, "", usageErrorf("SERVICE is empty")
	}
	return t, service, nil
}

// format returns how received messages are printed.
func (c *channelCmd) format(ch *ferry.Channel) func(*bytes.Buffer, *ferry.Msg) {
	if !c.json {
		return formatPayload
	}
	id, peer, service := ch.ID(), ch.Peer(), ch.Service()
	return func(b *bytes.Buffer, m *ferry.Msg) {
		j := jsonStreamMsg{Channel: id, From: peer, Service: service}
		j.setBody(m)
		encodeJSONLine(b, &j)
	}
}

func (c *channelCmd) dial(ctx context.Context, target ferry.Target, service string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	ch, err := nc.Dial(dctx, target, service, windowOptions(c.window)...)
	cancel()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrNoResponders):
		return noStreamResponders("channels", service, target)
	case errors.Is(err, ferry.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout after %s opening a channel to %s on %s", c.timeout, target, service)
	default:
		return fmt.Errorf("open channel to %s on %s: %w", target, service, err)
	}
	defer ch.Close()
	peer := ch.Peer()
	if peer == "" { // an older server does not name the endpoint an anycast chose
		peer = target.String()
	}
	fmt.Fprintf(c.app.stderr, "ferry: channel %d to %s on %s open\n", ch.ID(), peer, service)
	lr := newLineReader(c.app)
	defer lr.close()
	err = converse(ctx, ch, lr, newPrinter(c.app.stdout, c.format(ch)))
	var we writeError
	switch {
	case err == nil:
		fmt.Fprintf(c.app.stderr, "ferry: channel %d with %s ended\n", ch.ID(), peer)
		return nil
	case ctx.Err() != nil:
		_ = ch.Abort("interrupted")
		_ = nc.Flush(context.Background())
		return errInterrupted
	case errors.As(err, &we):
		return err
	case isEndOfStream(err):
		return fmt.Errorf("channel %d with %s on %s: %s", ch.ID(), peer, service, streamEnd(err))
	}
	return err
}

func (c *channelCmd) listenChannels(ctx context.Context, service string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	l, err := nc.Listen(service, windowOptions(c.window)...)
	if err != nil {
		return fmt.Errorf("listen for channels on %s: %w", service, err)
	}
	defer l.Close()
	if err := nc.Flush(ctx); err != nil {
		return interrupted(ctx, fmt.Errorf("listen for channels on %s: %w", service, err))
	}
	fmt.Fprintf(c.app.stderr, "ferry: listening for channels on %s as %s\n", service, nc.ID())
	lr := newLineReader(c.app)
	defer lr.close()
	accepted, failed := 0, 0
	for c.count == 0 || accepted < c.count {
		ch, err := l.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: a normal way to stop
			}
			return fmt.Errorf("listen for channels on %s: %w", service, err)
		}
		accepted++
		if accepted == c.count {
			_ = l.Close() // the last one: take no more while it runs
		}
		fmt.Fprintf(c.app.stderr, "ferry: channel %d from %s on %s accepted\n", ch.ID(), ch.Peer(), service)
		err = converse(ctx, ch, lr, newPrinter(c.app.stdout, c.format(ch)))
		if ctx.Err() != nil {
			_ = ch.Abort("interrupted")
			_ = nc.Flush(context.Background())
			return nil // interrupted: a normal way to stop
		}
		_ = ch.Close()
		var we writeError
		switch {
		case err == nil:
			fmt.Fprintf(c.app.stderr, "ferry: channel %d with %s ended\n", ch.ID(), ch.Peer())
		case errors.As(err, &we):
			return err
		case isEndOfStream(err):
			fmt.Fprintf(c.app.stderr, "ferry: channel %d with %s aborted: %s\n", ch.ID(), ch.Peer(), abortReason(err))
			failed++
		default:
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d channels did not end cleanly", failed, accepted)
	}
	return nil
}

// converse sends the lines of lr on ch and prints what ch receives, until
// both directions are done: lr at EOF (then ch is half-closed) and the
// peer half-closed. It returns nil then, and otherwise why the channel
// ended early (a writeError when printing failed).
func converse(ctx context.Context, ch *ferry.Channel, lr *lineReader, p *printer) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recvDone := make(chan error, 1)
	go func() {
		for {
			m, err := ch.Recv(cctx)
			switch {
			case errors.Is(err, io.EOF):
				recvDone <- nil
				return
			case err != nil:
				recvDone <- err
				return
			}
			if err := p.print(m); err != nil {
				recvDone <- writeError{err}
				cancel() // stop the sender too
				return
			}
		}
	}()
	_, err := sendFrom(cctx, lr, ch)
	if err == nil {
		err = ch.CloseSend()
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		cancel()
		<-recvDone
		return ctx.Err()
	case isEndOfStream(err):
		// The receiver sees the same end, or a clean half-close before it.
		if rerr := <-recvDone; rerr != nil {
			return rerr
		}
		return err
	default: // stdin failed, or a write error stopped the sender
		cancel()
		var we writeError
		if rerr := <-recvDone; errors.As(rerr, &we) {
			return rerr
		}
		return err
	}
	err = <-recvDone
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
