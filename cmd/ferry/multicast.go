package main

import (
	"context"
	"strings"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type multicastCmd struct {
	app     *app
	client  *clientFlags
	where   string
	timeout time.Duration
	headers headerFlag
	gather  *gatherFlags
}

func newMulticastCmd(a *app) *cobra.Command {
	c := &multicastCmd{app: a}
	cmd := &cobra.Command{
		Use:   "multicast (GROUP | --where SELECTOR) SUBJECT DATA",
		Short: "Send a message to every member of a group, or of a label selector",
		Long: `Send DATA on SUBJECT to every member of a group, one copy each:

  ferry multicast GROUP SUBJECT DATA
      the endpoints that joined GROUP (see 'ferry join'), on their group
      subscriptions matching SUBJECT; --where narrows them by label.
  ferry multicast --where SELECTOR SUBJECT DATA
      every endpoint whose labels match SELECTOR (see docs/selectors.md), on
      its inbox subscriptions matching SUBJECT (see 'ferry listen').

With --where, GROUP is given only when there are three arguments.

Without --request, waits until the broker has routed the message and prints
"reached N endpoints" to stderr; reaching none is not an error.

` + gatherHelp,
		Example: `  ferry multicast channel.7 video.frame f1
  ferry multicast --where 'type=camera,subnet=10.0.1.0/24' cameras.reboot now
  ferry multicast channel.7 --where region=eu video.frame f2
  ferry multicast ops status.ping '' --request --timeout 1s`,
		Args: func(cmd *cobra.Command, args []string) error {
			_, _, _, err := multicastArgs(cmd.Flags().Changed("where"), args)
			return err
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.gather.check(cmd); err != nil {
				return err
			}
			group, subject, data, _ := multicastArgs(cmd.Flags().Changed("where"), args)
			if group == "" && strings.TrimSpace(c.where) == "" {
				return usageErrorf("--where is empty; to reach every endpoint use 'ferry broadcast'")
			}
			return c.run(cmd.Context(), group, subject, data)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&c.where, "where", "w", "", "endpoints whose labels match this selector; with GROUP, only the members matching it")
	f.DurationVarP(&c.timeout, "timeout", "t", 2*time.Second, "how long to wait for the broker, or with --request for the replies")
	f.Var(&c.headers, "header", "message header key=value (repeatable)")
	c.gather = addGatherFlags(cmd)
	return cmd
}

// multicastArgs splits the positional arguments: GROUP SUBJECT DATA, or
// with --where also SUBJECT DATA.
func multicastArgs(where bool, args []string) (group, subject, data string, err error) {
	switch {
	case len(args) == 3:
		return args[0], args[1], args[2], nil
	case len(args) > 3:
		return "", "", "", usageErrorf("unexpected argument %q", args[3])
	case where && len(args) == 2:
		return "", args[0], args[1], nil
	case where:
		return "", "", "", usageErrorf("missing %s", []string{"SUBJECT DATA", "DATA"}[len(args)])
	case len(args) == 0:
		return "", "", "", usageErrorf("missing GROUP (or --where SELECTOR) SUBJECT DATA")
	}
	return "", "", "", usageErrorf("missing %s; give GROUP SUBJECT DATA, or --where SELECTOR SUBJECT DATA",
		[]string{"SUBJECT DATA", "DATA"}[len(args)-1])
}

// multicastTarget is the target of a multicast to group or, without one,
// to the endpoints where admits.
func multicastTarget(group, where string) ferry.Target {
	if group == "" {
		return ferry.MulticastWhere(where)
	}
	t := ferry.Multicast(group)
	if where != "" {
		t = t.Where(where)
	}
	return t
}

func (c *multicastCmd) run(ctx context.Context, group, subject, data string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	m := &ferry.Msg{Subject: subject, Header: c.headers.h, Data: []byte(data), Target: multicastTarget(group, c.where)}
	if c.gather.request {
		return c.gather.gather(ctx, c.app, nc, m, c.timeout)
	}
	return targetedSend(ctx, c.app, nc, m, c.timeout)
}
