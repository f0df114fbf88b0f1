package main

import (
	"context"
	"fmt"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type listenCmd struct {
	app    *app
	client *clientFlags
	count  int
	json   bool
}

func newListenCmd(a *app) *cobra.Command {
	c := &listenCmd{app: a}
	cmd := &cobra.Command{
		Use:   "listen [PATTERN]",
		Short: "Print messages targeted at this endpoint",
		Long: `Listen on this endpoint's inbox: print the messages targeted at it (unicast
by its ID and, as the broker supports them, broadcast, multicast and anycast)
on subjects matching PATTERN (default '>': every subject), one line each:

  MODE from SENDER SUBJECT: PAYLOAD

Give --id to choose the address others send to; once listening,
"ferry: listening on PATTERN as ID" is printed to stderr. Exits after --count
messages, or on SIGINT (status 0).

` + jsonHelp,
		Example: `  ferry listen --id camera-7 --label type=camera
  ferry listen 'alerts.>' --id ops-1 --json`,
		Args: positional(nil, "PATTERN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			pattern := ">"
			if len(args) == 1 {
				pattern = args[0]
			}
			return c.run(cmd.Context(), pattern)
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().IntVarP(&c.count, "count", "n", 0, "exit after this many messages (0: run until interrupted)")
	cmd.Flags().BoolVar(&c.json, "json", false, "print each message as a JSON object")
	return cmd
}

func (c *listenCmd) run(ctx context.Context, pattern string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	ch, sub, stop, err := receiveInto(ctx, nc, pattern, nc.Handle)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(c.app.stderr, "ferry: listening on %s as %s\n", pattern, nc.ID())
	err = printMessages(ctx, ch, c.count, newPrinter(c.app.stdout, pickFormat(c.json, formatListen)))
	_ = sub.Unsubscribe()
	return err
}

// receiveInto subscribes with subscribe (Conn.Handle, Conn.HandleGroup, …)
// and hands the messages to the returned channel, after a Flush so the
// server has the subscription. stop releases a handler still waiting to
// hand a message over.
func receiveInto(ctx context.Context, nc *ferry.Conn, pattern string,
	subscribe func(string, func(*ferry.Msg), ...ferry.SubOption) (*ferry.Subscription, error),
) (<-chan *ferry.Msg, *ferry.Subscription, func(), error) {
	ch := make(chan *ferry.Msg, 64)
	quit := make(chan struct{})
	stop := func() { close(quit) }
	sub, err := subscribe(pattern, func(m *ferry.Msg) {
		select {
		case ch <- m:
		case <-quit:
		}
	})
	if err != nil {
		stop()
		return nil, nil, nil, err // it names the pattern
	}
	if err := nc.Flush(ctx); err != nil {
		stop()
		return nil, nil, nil, interrupted(ctx, fmt.Errorf("listen on %s: %w", pattern, err))
	}
	return ch, sub, stop, nil
}
