package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type streamCmd struct {
	app     *app
	client  *clientFlags
	target  *targetFlags
	subject string
	cutSlow bool
	headers headerFlag
	timeout time.Duration

	accept bool
	count  int
	json   bool
	window int

	backpressure backpressureFlag // --accept: a lossy receiver's drop policy
	limit        int
}

// streamSendOnly and streamAcceptOnly list the flags of each mode of the
// command, to reject them in the other.
var (
	streamSendOnly   = append([]string{"subject", "cut-slow", "header", "timeout"}, anycastOnly...)
	streamAcceptOnly = []string{"count", "json", "window", "backpressure", "limit"}
)

func newStreamCmd(a *app) *cobra.Command {
	cmd, _ := newStreamCommand(a)
	return cmd
}

// newStreamCommand returns the command and its state, for tests.
func newStreamCommand(a *app) (*cobra.Command, *streamCmd) {
	c := &streamCmd{app: a}
	cmd := &cobra.Command{
		Use:   "stream (SUBJECT | @ID --subject S | anycast --subject S) | stream --accept [PATTERN]",
		Short: "Send stdin as one ordered, flow-controlled stream, or accept streams",
		Long: `Send each line read from stdin (without the line ending) as one message of a
single stream, in order, then end the stream. The stream goes:

  ferry stream SUBJECT
      through the broker to every endpoint accepting streams on SUBJECT
      (see 'ferry stream --accept').
  ferry stream @ID --subject SUBJECT
      to the endpoint ID, which must accept streams on SUBJECT.
  ferry stream anycast --subject SUBJECT [--policy P] [--where SEL]
      to exactly one accepting endpoint chosen by --policy (see 'ferry
      anycast --help' for the policies).

Sending is flow-controlled: every receiver grants a window of messages and
the command blocks when the slowest receiver's window is full, so nothing is
ever dropped. With --cut-slow, the broker instead cuts a receiver that holds
the others back for 2 s, and the stream goes on with the rest.

Once every line was sent, the stream is closed and "streamed N messages to
R receivers" (R: the receivers reached when the stream opened) is printed
to stderr. Exits with status 1 at once when nobody
accepts streams on the subject ("no responders"), or when the stream ends
early: aborted by a receiver, or every receiver gone. On SIGINT the stream
is aborted (status 130).

With --accept, accept the streams on subjects matching PATTERN (default
'>': every subject) and print each message as one line to stdout:

  STREAM SEQ from SENDER SUBJECT: PAYLOAD

where STREAM is the stream's number at this endpoint and SEQ counts the
stream's messages from 1. Several streams may arrive at once; each one's
messages are printed in order. To stderr go "ferry: accepting streams on
PATTERN as ID" once ready, "ferry: stream N from SENDER on SUBJECT
accepted", and "ferry: stream N from SENDER ended" (or "... aborted:
REASON") at its end. Exits once --count streams have ended (status 1 if any
of them was aborted), or on SIGINT (status 0).

With --json each message is one JSON object per line:
  {"stream":N,"seq":N,"from":"...","subject":"...","headers":{"key":["value"]},
   "stream_headers":{"key":["value"]},"payload":"..."}
where "headers" are the message's and "stream_headers" the stream's (--header
of the sender; absent when none), and "payload_base64" replaces "payload"
when the payload is not UTF-8.

By default a receiver paces the sender (its window). With --backpressure
drop-oldest, drop-newest or latest-per-key it does not: the broker sends it
every message and, when more than --limit of a stream's messages wait for
this endpoint (0: the broker's default, 1024), drops the oldest waiting one,
the incoming one, or keeps the latest per key (header Ferry-Key, else only
the latest message). SEQ then has gaps; the end-of-stream line on stderr
says how many messages were dropped. block and disconnect are not stream
policies: streams already pace their sender by credit.`,
		Example: `  ferry stream --accept 'gps.>' --id dashboard-1
  tail -f fixes.txt | ferry stream gps.phone1 --header unit=deg
  printf '52.52,13.40\n52.51,13.38\n' | ferry stream @dashboard-1 --subject gps.phone1
  ferry stream anycast --subject video.cam7 --policy nearest --where type=screen < frames.txt
  ferry stream gps.phone1 --cut-slow < track.txt
  ferry stream --accept 'gps.*' --count 1 --json --window 16
  ferry stream --accept 'gps.>' --backpressure latest-per-key --limit 1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if c.accept {
				return positional(nil, "PATTERN")(cmd, args)
			}
			if len(args) == 0 {
				return usageErrorf("missing TARGET (SUBJECT, @ID or anycast), or give --accept")
			}
			return positional([]string{"TARGET"})(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.accept {
				pattern, err := c.checkAccept(cmd, args)
				if err != nil {
					return err
				}
				return c.acceptStreams(cmd.Context(), pattern)
			}
			subject, target, err := c.checkSend(cmd, args[0])
			if err != nil {
				return err
			}
			return c.send(cmd.Context(), subject, target)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&c.subject, "subject", "", "with @ID or anycast: the stream's subject")
	f.BoolVar(&c.cutSlow, "cut-slow", false, "cut a receiver that stalls the stream for the others, instead of waiting for it")
	f.Var(&c.headers, "header", "stream header key=value, seen by every receiver (repeatable)")
	f.DurationVarP(&c.timeout, "timeout", "t", 5*time.Second, "how long to wait for the broker to open the stream")
	c.target = addTargetFlags(cmd)
	f.BoolVarP(&c.accept, "accept", "a", false, "accept streams on PATTERN and print their messages")
	f.IntVarP(&c.count, "count", "n", 0, "with --accept: exit after this many streams have ended (0: run until interrupted)")
	f.BoolVar(&c.json, "json", false, "with --accept: print each message as a JSON object")
	f.IntVar(&c.window, "window", 0, "with --accept: messages each stream may have in flight to this endpoint (0: the client's default, 256)")
	f.Var(&c.backpressure, "backpressure", "with --accept: drop instead of pacing the sender: drop-oldest, drop-newest or latest-per-key")
	f.IntVar(&c.limit, "limit", 0, "with --backpressure: how many of a stream's messages may wait in the broker (0: the broker's default)")
	return cmd, c
}

// checkSend validates the flags of the sending form and returns the
// stream's subject and target.
func (c *streamCmd) checkSend(cmd *cobra.Command, arg string) (string, ferry.Target, error) {
	changed := cmd.Flags().Changed
	for _, name := range streamAcceptOnly {
		if changed(name) {
			return "", ferry.Target{}, usageErrorf("--%s needs --accept", name)
		}
	}
	return streamTarget(cmd, c.target, arg, c.subject)
}

// streamTarget parses the TARGET of 'ferry stream': SUBJECT, @ID or
// anycast; the last two take the subject from --subject.
func streamTarget(cmd *cobra.Command, tf *targetFlags, arg, subject string) (string, ferry.Target, error) {
	changed := cmd.Flags().Changed
	if arg == "" {
		return "", ferry.Target{}, usageErrorf("TARGET is empty; give SUBJECT, @ID or anycast")
	}
	if arg == "anycast" || arg[0] == '@' {
		t, err := tf.parse(cmd, arg)
		if err != nil {
			return "", ferry.Target{}, err
		}
		if !changed("subject") || subject == "" {
			return "", ferry.Target{}, usageErrorf("%s needs --subject SUBJECT, the subject the receiver accepts streams on", arg)
		}
		return subject, t, nil
	}
	if changed("subject") {
		return "", ferry.Target{}, usageErrorf("--subject is for @ID and anycast; %q is the subject already", arg)
	}
	for _, name := range anycastOnly {
		if changed(name) {
			return "", ferry.Target{}, usageErrorf("--%s needs TARGET anycast", name)
		}
	}
	return arg, ferry.Target{}, nil
}

// checkAccept validates the flags of --accept and returns the pattern.
func (c *streamCmd) checkAccept(cmd *cobra.Command, args []string) (string, error) {
	for _, name := range streamSendOnly {
		if cmd.Flags().Changed(name) {
			return "", usageErrorf("--%s is for sending; not with --accept", name)
		}
	}
	if err := checkCount(c.count); err != nil {
		return "", err
	}
	if err := checkWindow(c.window); err != nil {
		return "", err
	}
	if err := checkBackpressure(c.backpressure.set, cmd.Flags().Changed("limit"), c.limit); err != nil {
		return "", err
	}
	if c.backpressure.set {
		switch c.backpressure.p {
		case ferry.BackpressureDropNewest, ferry.BackpressureDropOldest, ferry.BackpressureLatestPerKey:
		default:
			return "", usageErrorf("--backpressure %s is not for streams: a stream receiver already paces its sender by credit; use drop-oldest, drop-newest or latest-per-key", c.backpressure.name)
		}
	}
	if len(args) == 1 {
		return args[0], nil
	}
	return ">", nil
}

func (c *streamCmd) options() []ferry.StreamOption {
	var opts []ferry.StreamOption
	if c.cutSlow {
		opts = append(opts, ferry.WithCutSlow())
	}
	for _, h := range c.headers.h {
		opts = append(opts, ferry.WithStreamHeader(h.Key, h.Value))
	}
	return opts
}

func (c *streamCmd) send(ctx context.Context, subject string, target ferry.Target) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	octx, cancel := context.WithTimeout(ctx, c.timeout)
	s, err := nc.OpenStream(octx, subject, target, c.options()...)
	cancel()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrNoResponders):
		return noStreamResponders("streams", subject, target)
	case errors.Is(err, ferry.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout after %s opening a stream on %s", c.timeout, subject)
	default:
		return fmt.Errorf("open stream on %s: %w", subject, err)
	}
	n, err := sendLines(ctx, c.app, s)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		_ = s.Abort("interrupted")
		_ = nc.Flush(context.Background())
		return errInterrupted
	case isEndOfStream(err):
		return fmt.Errorf("stream on %s ended after %s: %s", subject, plural(n, "message"), streamEnd(err))
	default:
		_ = s.Abort(errorText(err))
		_ = nc.Flush(context.Background())
		return err
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("stream on %s ended after %s: %s", subject, plural(n, "message"), streamEnd(err))
	}
	if err := nc.Flush(ctx); err != nil {
		return interrupted(ctx, fmt.Errorf("flush: %w", err))
	}
	fmt.Fprintf(c.app.stderr, "streamed %s to %s\n", plural(n, "message"), plural(s.Receivers(), "receiver"))
	return nil
}

// streamSender is what sendLines needs of a stream or channel.
type streamSender interface {
	Send(ctx context.Context, data []byte) error
	Done() <-chan struct{}
	Err() error
}

// sendLines sends each line of stdin on s until EOF and returns how many it
// sent. It stops early when s ends (returning why) or ctx ends.
func sendLines(ctx context.Context, a *app, s streamSender) (int, error) {
	lr := newLineReader(a)
	defer lr.close()
	return sendFrom(ctx, lr, s)
}

// sendFrom sends the lines of lr on s until lr is at EOF.
func sendFrom(ctx context.Context, lr *lineReader, s streamSender) (int, error) {
	n := 0
	for {
		select {
		case line, ok := <-lr.lines:
			if !ok {
				return n, lr.err
			}
			if err := s.Send(ctx, line); err != nil {
				return n, err
			}
			n++
		case <-s.Done():
			return n, endErr(s.Err())
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
}

// endErr is the error of a stream that ended: its own, or ErrStreamClosed.
func endErr(err error) error {
	if err == nil {
		return ferry.ErrStreamClosed
	}
	return err
}

// acceptStreams accepts streams on pattern and prints their messages.
func (c *streamCmd) acceptStreams(ctx context.Context, pattern string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	opts := windowOptions(c.window)
	if c.backpressure.set {
		opts = append(opts, ferry.WithStreamBackpressure(c.backpressure.p, c.limit))
	}
	l, err := nc.ListenStreams(pattern, opts...)
	if err != nil {
		return fmt.Errorf("accept streams on %s: %w", pattern, err)
	}
	defer l.Close()
	if err := nc.Flush(ctx); err != nil {
		return interrupted(ctx, fmt.Errorf("accept streams on %s: %w", pattern, err))
	}
	fmt.Fprintf(c.app.stderr, "ferry: accepting streams on %s as %s\n", pattern, nc.ID())

	rctx, stop := context.WithCancel(ctx) // stops the receivers on a write error
	defer stop()
	out := &lockedWriter{w: c.app.stdout}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards failed, writeErr
		failed   int
		writeErr error
	)
	accepted := 0
	for c.count == 0 || accepted < c.count {
		in, err := l.Accept(rctx)
		if err != nil {
			if rctx.Err() != nil {
				break
			}
			stop()
			wg.Wait()
			return fmt.Errorf("accept streams on %s: %w", pattern, err)
		}
		accepted++
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.receive(rctx, in, out)
			var we writeError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.As(err, &we):
				if writeErr == nil {
					writeErr = err
				}
				stop()
			case err != nil:
				failed++
			}
		}()
	}
	if c.count > 0 {
		_ = l.Close() // take no more streams while the last ones finish
	}
	wg.Wait()
	switch {
	case writeErr != nil:
		return writeErr
	case ctx.Err() != nil:
		return nil // interrupted: a normal way to stop
	case failed > 0:
		return fmt.Errorf("%d of %d streams did not end cleanly", failed, accepted)
	}
	return nil
}

// writeError is a failure to write the output.
type writeError struct{ err error }

func (e writeError) Error() string { return "write output: " + e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// receive prints the messages of one incoming stream until it ends. It
// returns nil when the stream ended cleanly or ctx ended, a writeError when
// the output failed, and the stream's error when it was aborted.
func (c *streamCmd) receive(ctx context.Context, in *ferry.IncomingStream, out io.Writer) error {
	id, from, subject := in.ID(), in.From(), in.Subject()
	fmt.Fprintf(c.app.stderr, "ferry: stream %d from %s on %s accepted\n", id, from, subject)
	format := func(b *bytes.Buffer, m *ferry.Msg) {
		b.WriteString(strconv.FormatUint(id, 10))
		fmt.Fprintf(b, " %d from %s %s: ", m.Seq, from, subject)
		b.Write(m.Data)
	}
	if c.json {
		var streamHeaders map[string][]string
		if h := in.Header(); len(h) > 0 {
			streamHeaders = headerMap(h)
		}
		format = func(b *bytes.Buffer, m *ferry.Msg) {
			j := jsonStreamMsg{Stream: id, From: from, Subject: subject, StreamHeaders: streamHeaders}
			j.setBody(m)
			encodeJSONLine(b, &j)
		}
	}
	p := newPrinter(out, format)
	for {
		m, err := in.Recv(ctx)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if n := in.Dropped(); n > 0 {
				fmt.Fprintf(c.app.stderr, "ferry: stream %d from %s ended (%s dropped)\n", id, from, plural(int(min(n, 1<<31-1)), "message"))
			} else {
				fmt.Fprintf(c.app.stderr, "ferry: stream %d from %s ended\n", id, from)
			}
			return nil
		case ctx.Err() != nil:
			_ = in.Close()
			return nil
		default:
			fmt.Fprintf(c.app.stderr, "ferry: stream %d from %s aborted: %s\n", id, from, abortReason(err))
			return err
		}
		if err := p.print(m); err != nil {
			_ = in.Close()
			return writeError{err}
		}
	}
}
