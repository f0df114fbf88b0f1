package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type joinCmd struct {
	app    *app
	client *clientFlags
	count  int
	json   bool
}

func newJoinCmd(a *app) *cobra.Command {
	c := &joinCmd{app: a}
	cmd := &cobra.Command{
		Use:   "join GROUP [PATTERN]",
		Short: "Join a multicast group and print the messages sent to it",
		Long: `Join the multicast group GROUP (a name like channel.7) and print the messages
sent to the groups this endpoint joined (see 'ferry multicast GROUP' and
'ferry anycast --group') on subjects matching PATTERN (default '>': every
subject), one line each:

  MODE from SENDER SUBJECT: PAYLOAD

Once joined and listening, "ferry: joined GROUP, listening on PATTERN as ID"
is printed to stderr. Exits after --count messages, or on SIGINT (status 0),
leaving the group; the broker also drops a closed connection from its groups.

` + jsonHelp,
		Example: `  ferry join channel.7
  ferry join channel.7 'video.>' --id tv-1 --count 10
  ferry join workers --label region=eu --json`,
		Args: positional([]string{"GROUP"}, "PATTERN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			pattern := ">"
			if len(args) == 2 {
				pattern = args[1]
			}
			return c.run(cmd.Context(), args[0], pattern)
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().IntVarP(&c.count, "count", "n", 0, "exit after this many messages (0: run until interrupted)")
	cmd.Flags().BoolVar(&c.json, "json", false, "print each message as a JSON object")
	return cmd
}

func (c *joinCmd) run(ctx context.Context, group, pattern string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.Join(ctx, group); err != nil {
		return interrupted(ctx, err) // it names the group
	}
	ch, sub, stop, err := receiveInto(ctx, nc, pattern, nc.HandleGroup)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(c.app.stderr, "ferry: joined %s, listening on %s as %s\n", group, pattern, nc.ID())
	err = printMessages(ctx, ch, c.count, newPrinter(c.app.stdout, pickFormat(c.json, formatListen)))
	_ = sub.Unsubscribe()
	stop()
	lctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	if lerr := nc.Leave(lctx, group); lerr != nil && err == nil && ctx.Err() == nil {
		err = fmt.Errorf("leave %s: %w", group, lerr)
	}
	drainQuietly(nc) // send the acknowledgements and replies handlers queued
	return err
}
