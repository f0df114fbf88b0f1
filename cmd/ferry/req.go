package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type reqCmd struct {
	app     *app
	client  *clientFlags
	timeout time.Duration
	headers headerFlag
	to      string
	json    bool
}

func newReqCmd(a *app) *cobra.Command {
	c := &reqCmd{app: a}
	cmd := &cobra.Command{
		Use:     "req SUBJECT DATA",
		Aliases: []string{"request"},
		Short:   "Send a request and print the reply",
		Long: `Send DATA as a request on SUBJECT and print the payload of the first reply.
The request goes to the subscribers of SUBJECT, or with --to to exactly one
endpoint by its ID (unicast), reaching its inbox subscriptions.

Exits with status 1 at once when nobody can receive the request ("no
responders"), and after --timeout when nobody answers.`,
		Example: `  ferry req time.now ''
  ferry req users.lookup '{"id":42}' --timeout 500ms
  ferry req --to camera-7 camera.snapshot '' --header format=jpeg`,
		Args: positional([]string{"SUBJECT", "DATA"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], args[1])
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.DurationVarP(&c.timeout, "timeout", "t", 2*time.Second, "how long to wait for a reply")
	f.Var(&c.headers, "header", "message header key=value (repeatable)")
	f.StringVar(&c.to, "to", "", "send the request to this endpoint ID only (unicast)")
	f.BoolVar(&c.json, "json", false, "print the whole reply as a JSON object (see 'ferry sub --help')")
	return cmd
}

func (c *reqCmd) run(ctx context.Context, subject, data string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	m := &ferry.Msg{Subject: subject, Header: c.headers.h, Data: []byte(data)}
	if c.to != "" {
		m.Target = ferry.ToEndpoint(c.to)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	reply, err := nc.RequestMsg(rctx, m)
	if err != nil {
		return c.explain(ctx, subject, err)
	}
	p := newPrinter(c.app.stdout, pickFormat(c.json, formatPayload))
	if err := p.print(reply); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// explain turns a failed request into the message the user sees.
func (c *reqCmd) explain(ctx context.Context, subject string, err error) error {
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrNoResponders) && c.to != "":
		return noInbox(c.to, subject)
	case errors.Is(err, ferry.ErrNoResponders):
		return fmt.Errorf("no responders for %s", subject)
	case errors.Is(err, ferry.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout after %s waiting for a reply on %s", c.timeout, subject)
	}
	return fmt.Errorf("request on %s: %w", subject, err)
}

// noInbox reports a unicast that reached nobody.
func noInbox(id, subject string) error {
	return fmt.Errorf("endpoint %s is not connected or has no inbox subscription on %s", id, subject)
}
