package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type subCmd struct {
	app          *app
	client       *clientFlags
	group        string
	count        int
	json         bool
	backpressure backpressureFlag
	limit        int
}

func newSubCmd(a *app) *cobra.Command {
	c := &subCmd{app: a}
	cmd := &cobra.Command{
		Use:   "sub PATTERN",
		Short: "Subscribe to a subject pattern and print the messages",
		Long: `Subscribe to PATTERN ('*' matches one token, '>' the rest) and print one
line per message: its payload (followed by a newline unless it ends with
one). Subscriptions sharing a --group split the
messages between them, each message going to one member.

Once the broker has the subscription, "ferry: subscribed to PATTERN" is
printed to stderr. Exits after --count messages, or on SIGINT (status 0).

--backpressure says what the broker does when more than --limit of the
subscription's messages wait in it because this endpoint reads too slowly
(--limit 0: the broker's default, 1024):
  disconnect      cut the connection as a slow consumer (the default)
  block           make the publishers wait for room, up to the broker's
                  write timeout
  drop-newest     drop the arriving messages
  drop-oldest     drop the oldest waiting message: the newest get through
  latest-per-key  keep only the latest waiting message per key (header
                  Ferry-Key, else the subject)
Dropped messages are reported on stderr as "ferry: ... dropped N messages".

` + jsonHelp,
		Example: `  ferry sub 'orders.>'
  ferry sub 'sensors.*.temp' --json
  ferry sub jobs.resize --group workers --count 1
  ferry sub 'prices.>' --backpressure latest-per-key --limit 100`,
		Args: positional([]string{"PATTERN"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			if err := checkBackpressure(c.backpressure.set, cmd.Flags().Changed("limit"), c.limit); err != nil {
				return err
			}
			return c.run(cmd.Context(), args[0])
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().StringVarP(&c.group, "group", "g", "", "share messages with the other subscribers in this group")
	cmd.Flags().IntVarP(&c.count, "count", "n", 0, "exit after this many messages (0: run until interrupted)")
	cmd.Flags().BoolVar(&c.json, "json", false, "print each message as a JSON object")
	cmd.Flags().Var(&c.backpressure, "backpressure", "what to do when --limit messages wait: "+strings.Join(backpressureNames, ", "))
	cmd.Flags().IntVar(&c.limit, "limit", 0, "with --backpressure: how many messages may wait in the broker (0: the broker's default)")
	return cmd
}

func (c *subCmd) run(ctx context.Context, pattern string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	var opts []ferry.SubOption
	if c.group != "" {
		opts = append(opts, ferry.InGroup(c.group))
	}
	if c.backpressure.set {
		opts = append(opts, ferry.WithBackpressure(c.backpressure.p, c.limit))
	}
	ch := make(chan *ferry.Msg, 64)
	sub, err := nc.SubscribeChan(pattern, ch, opts...)
	if err != nil {
		return err // it names the pattern
	}
	if err := nc.Flush(ctx); err != nil {
		return interrupted(ctx, fmt.Errorf("subscribe to %s: %w", pattern, err))
	}
	fmt.Fprintf(c.app.stderr, "ferry: subscribed to %s\n", pattern)
	err = printMessages(ctx, ch, c.count, newPrinter(c.app.stdout, pickFormat(c.json, formatPayload)))
	_ = sub.Unsubscribe()
	return err
}

// printMessages prints messages from ch until count were printed (0: no
// limit) or ctx ends; the end of ctx is a normal way to stop.
func printMessages(ctx context.Context, ch <-chan *ferry.Msg, count int, p *printer) error {
	for n := 0; count == 0 || n < count; n++ {
		select {
		case m := <-ch:
			if err := p.print(m); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// pickFormat returns formatJSON when asJSON is set, else plain.
func pickFormat(asJSON bool, plain func(*bytes.Buffer, *ferry.Msg)) func(*bytes.Buffer, *ferry.Msg) {
	if asJSON {
		return formatJSON
	}
	return plain
}

// backpressureNames lists the backpressure policies of 'ferry sub', in
// the client's order.
var backpressureNames = []string{"disconnect", "block", "drop-newest", "drop-oldest", "latest-per-key"}

// backpressureFlag is a subscription's backpressure policy given by name.
type backpressureFlag struct {
	set  bool
	name string
	p    ferry.Backpressure
}

func (f *backpressureFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	p, err := ferry.ParseBackpressure(s)
	if err != nil {
		return fmt.Errorf("unknown backpressure policy; want one of %s", strings.Join(backpressureNames, ", "))
	}
	f.set, f.name, f.p = true, s, p
	return nil
}

func (f *backpressureFlag) String() string { return f.name }

func (f *backpressureFlag) Type() string { return "policy" }

// checkBackpressure rejects --limit without --backpressure, and a negative
// limit.
func checkBackpressure(policy, limitSet bool, limit int) error {
	switch {
	case limitSet && !policy:
		return usageErrorf("--limit needs --backpressure")
	case limit < 0:
		return usageErrorf("--limit must not be negative, got %d", limit)
	}
	return nil
}
