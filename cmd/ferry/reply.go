package main

import (
	"context"
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
}

func newReplyCmd(a *app) *cobra.Command {
	c := &replyCmd{app: a}
	cmd := &cobra.Command{
		Use:   "reply SUBJECT [DATA]",
		Short: "Answer requests with fixed data or an echo",
		Long: `Answer requests on SUBJECT (a pattern: '*' and '>' work) with DATA, or with
--echo with each request's own payload. Requests published to the subject and
requests sent to this endpoint by its ID (see 'ferry req --to') are both
answered. Responders sharing a --group split the requests between them.

Prints the payload of each request answered to stdout (or JSON with --json),
and "ferry: replying on SUBJECT as ID" to stderr once ready. Exits after
answering --count requests (later ones are left unanswered), or on SIGINT
(status 0).`,
		Example: `  ferry reply time.now "$(date)"
  ferry reply 'echo.>' --echo --group echoers
  ferry reply --id svc-1 users.lookup '{"name":"ada"}' --count 1`,
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
			return c.run(cmd.Context(), args[0], data)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.BoolVarP(&c.echo, "echo", "e", false, "answer with the request's payload")
	f.StringVarP(&c.group, "group", "g", "", "share requests with the other responders in this group")
	f.IntVarP(&c.count, "count", "n", 0, "exit after answering this many requests (0: run until interrupted)")
	f.BoolVar(&c.json, "json", false, "print each request as a JSON object (see 'ferry sub --help')")
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

// handler returns the Respond callback: it prints each request and answers
// with data (or the request's payload when data is nil), closing done after
// the --count'th request.
func (c *replyCmd) handler(data []byte, done chan struct{}) func(*ferry.Msg) []byte {
	p := newPrinter(c.app.stdout, pickFormat(c.json, formatPayload))
	var handled atomic.Int64
	return func(m *ferry.Msg) []byte {
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
