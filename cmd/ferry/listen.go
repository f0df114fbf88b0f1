package main

import (
	"context"
	"fmt"
	"sync"
	"time"

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
	stop()
	drainQuietly(nc) // send the acknowledgements and replies handlers queued
	return err
}

// receiveInto subscribes with subscribe (Conn.Handle, Conn.HandleGroup, …)
// and hands the messages to the returned channel, after a Flush so the
// server has the subscription. stop, safe to call more than once, releases
// a handler still waiting to hand a message over.
func receiveInto(ctx context.Context, nc *ferry.Conn, pattern string,
	subscribe func(string, func(*ferry.Msg), ...ferry.SubOption) (*ferry.Subscription, error),
) (<-chan *ferry.Msg, *ferry.Subscription, func(), error) {
	ch := make(chan *ferry.Msg, 64)
	quit := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(quit) }) }
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

// drainQuietly lets handlers finish and flushes what they sent (acks,
// replies) before the connection closes, waiting at most two seconds.
func drainQuietly(nc *ferry.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = nc.Drain(ctx)
}
