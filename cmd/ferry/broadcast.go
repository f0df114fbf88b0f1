package main

import (
	"context"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type broadcastCmd struct {
	app     *app
	client  *clientFlags
	where   string
	timeout time.Duration
	headers headerFlag
	gather  *gatherFlags
}

func newBroadcastCmd(a *app) *cobra.Command {
	c := &broadcastCmd{app: a}
	cmd := &cobra.Command{
		Use:   "broadcast SUBJECT DATA",
		Short: "Send a message to every endpoint (broadcast)",
		Long: `Send DATA on SUBJECT to every connected endpoint, or with --where to every
endpoint whose labels match the selector (see docs/selectors.md), one copy
each. It reaches each endpoint's inbox subscriptions matching SUBJECT (see
'ferry listen' and 'ferry reply').

Without --request, waits until the broker has routed the message and prints
"reached N endpoints" to stderr; reaching none is not an error.

` + gatherHelp,
		Example: `  ferry broadcast config.reload now
  ferry broadcast --where 'type=camera' cameras.ping hi
  ferry broadcast arp.who-has 10.0.0.7 --request --timeout 1s
  ferry broadcast health.check '' --request --quiet 200ms --json`,
		Args: positional([]string{"SUBJECT", "DATA"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.gather.check(cmd); err != nil {
				return err
			}
			return c.run(cmd.Context(), args[0], args[1])
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&c.where, "where", "w", "", "only endpoints whose labels match this selector, e.g. 'type=camera,subnet=10.0.1.0/24'")
	f.DurationVarP(&c.timeout, "timeout", "t", 2*time.Second, "how long to wait for the broker, or with --request for the replies")
	f.Var(&c.headers, "header", "message header key=value (repeatable)")
	c.gather = addGatherFlags(cmd)
	return cmd
}

func (c *broadcastCmd) run(ctx context.Context, subject, data string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	t := ferry.Broadcast()
	if c.where != "" {
		t = t.Where(c.where)
	}
	m := &ferry.Msg{Subject: subject, Header: c.headers.h, Data: []byte(data), Target: t}
	if c.gather.request {
		return c.gather.gather(ctx, c.app, nc, m, c.timeout)
	}
	return targetedSend(ctx, c.app, nc, m, c.timeout)
}
