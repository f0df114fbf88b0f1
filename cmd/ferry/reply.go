package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

// drainTimeout bounds sending the last replies before reply exits.
const drainTimeout = 5 * time.Second

type replyCmd struct {
	app    *app
	client *clientFlags
	echo   bool
	group  string
	count  int
	json   bool
	match  *string // answer only requests with this payload; decline the others
}

func newReplyCmd(a *app) *cobra.Command {
	c := &replyCmd{app: a}
	var matchText string
	cmd := &cobra.Command{
		Use:   "reply SUBJECT [DATA]",
		Short: "Answer requests with fixed data or an echo",
		Long: `Answer requests on SUBJECT (a pattern: '*' and '>' work) with DATA, or with
--echo with each request's own payload. Requests published to the subject and
requests sent to this endpoint by its ID (see 'ferry req --to') are both
answered. Responders sharing a --group split the requests between them.

With --match TEXT only requests whose payload is exactly TEXT are answered;
the others are declined, which tells a scatter-gather ('ferry broadcast
--request') that this endpoint is done, so it need not wait for a timeout.
A declined anycast request goes to the next candidate.

Prints the payload of each request answered to stdout (or JSON with --json),
and "ferry: replying on SUBJECT as ID" to stderr once ready. Exits after
answering --count requests (later ones are declined), or on SIGINT
(status 0).`,
		Example: `  ferry reply time.now "$(date)"
  ferry reply 'echo.>' --echo --group echoers
  ferry reply --id svc-1 users.lookup '{"name":"ada"}' --count 1
  ferry reply arp.who-has 'cam-7 is at 10.0.0.7' --match 10.0.0.7`,
		Args: positional([]string{"SUBJECT"}, "DATA"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			if c.echo == (len(args) == 2) {
				return usageErrorf("give either DATA or --echo")
			}
			var data []byte
			if len(args) == 2 {
				data = []byte(args[1])
			}
			if cmd.Flags().Changed("match") {
				c.match = &matchText
			}
			return c.run(cmd.Context(), args[0], data)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.BoolVarP(&c.echo, "echo", "e", false, "answer with the request's payload")
	f.StringVarP(&c.group, "group", "g", "", "share requests with the other responders in this group")
	f.IntVarP(&c.count, "count", "n", 0, "exit after answering this many requests (0: run until interrupted)")
	f.BoolVar(&c.json, "json", false, "print each request as a JSON object (see 'ferry sub --help')")
	f.StringVarP(&matchText, "match", "m", "", "answer only requests whose payload is exactly this text; decline the others")
	return cmd
}

func (c *replyCmd) run(ctx context.Context, subject string, data []byte) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	var opts []ferry.SubOption
	if c.group != "" {
		opts = append(opts, ferry.InGroup(c.group))
	}
	done := make(chan struct{})
	_, err = nc.Respond(subject, c.handler(data, done), opts...)
	if err != nil {
		return err // it names the pattern
	}
	if err := nc.Flush(ctx); err != nil {
		return interrupted(ctx, fmt.Errorf("reply on %s: %w", subject, err))
	}
	fmt.Fprintf(c.app.stderr, "ferry: replying on %s as %s\n", subject, nc.ID())
	select {
	case <-done:
	case <-ctx.Done():
	}
	dctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := nc.Drain(dctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	return nil
}

// handler returns the Respond callback: it declines the requests --match
// rejects, prints each other request and answers with data (or the
// request's payload when data is nil), closing done after the --count'th
// answered request.
func (c *replyCmd) handler(data []byte, done chan struct{}) func(*ferry.Msg) []byte {
	p := newPrinter(c.app.stdout, pickFormat(c.json, formatPayload))
	var handled atomic.Int64
	return func(m *ferry.Msg) []byte {
		if c.match != nil && string(m.Data) != *c.match {
			if m.Reply != "" {
				if err := m.Decline(); err != nil && !errors.Is(err, ferry.ErrClosed) {
					fmt.Fprintf(c.app.stderr, "ferry: decline on %s: %s\n", m.Subject, errorText(err))
				}
			}
			return nil
		}
		n := handled.Add(1)
		if c.count > 0 && n > int64(c.count) {
			return nil
		}
		if err := p.print(m); err != nil {
			fmt.Fprintf(c.app.stderr, "ferry: write output: %v\n", err)
		}
		if c.count > 0 && n == int64(c.count) {
			close(done)
		}
		reply := data
		if reply == nil {
			reply = m.Data
		}
		if reply == nil {
			reply = []byte{} // nil would mean no reply
		}
		return reply
	}
}
