package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type subCmd struct {
	app    *app
	client *clientFlags
	group  string
	count  int
	json   bool
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

` + jsonHelp,
		Example: `  ferry sub 'orders.>'
  ferry sub 'sensors.*.temp' --json
  ferry sub jobs.resize --group workers --count 1`,
		Args: positional([]string{"PATTERN"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			return c.run(cmd.Context(), args[0])
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().StringVarP(&c.group, "group", "g", "", "share messages with the other subscribers in this group")
	cmd.Flags().IntVarP(&c.count, "count", "n", 0, "exit after this many messages (0: run until interrupted)")
	cmd.Flags().BoolVar(&c.json, "json", false, "print each message as a JSON object")
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
