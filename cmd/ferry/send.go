package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type sendCmd struct {
	app     *app
	client  *clientFlags
	timeout time.Duration
	headers headerFlag
}

func newSendCmd(a *app) *cobra.Command {
	c := &sendCmd{app: a}
	cmd := &cobra.Command{
		Use:   "send ENDPOINT SUBJECT DATA",
		Short: "Send a message to one endpoint by its ID (unicast)",
		Long: `Send DATA on SUBJECT to exactly the endpoint ENDPOINT and wait until the
broker has routed it. It reaches the endpoint's inbox subscriptions matching
SUBJECT (see 'ferry listen'). Exits with status 1 when the endpoint is not
connected or has no such subscription.`,
		Example: `  ferry send camera-7 camera.zoom 2x
  ferry send ops-1 alerts.disk 'disk 91% full' --header host=db-3`,
		Args: positional([]string{"ENDPOINT", "SUBJECT", "DATA"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], args[1], args[2])
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().DurationVarP(&c.timeout, "timeout", "t", 2*time.Second, "how long to wait for the broker to route the message")
	cmd.Flags().Var(&c.headers, "header", "message header key=value (repeatable)")
	return cmd
}

func (c *sendCmd) run(ctx context.Context, id, subject, data string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	m := &ferry.Msg{Subject: subject, Header: c.headers.h, Data: []byte(data), Target: ferry.ToEndpoint(id)}
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err = nc.SendMsg(sctx, m)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrNoResponders):
		return noInbox(id, subject)
	case errors.Is(err, ferry.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout after %s sending to %s", c.timeout, id)
	}
	return fmt.Errorf("send to %s: %w", id, err)
}
