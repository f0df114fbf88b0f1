package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

// maxLine bounds a line read from stdin by pub: the largest payload a
// server accepts.
const maxLine = 64 << 20

type pubCmd struct {
	app     *app
	client  *clientFlags
	count   int
	headers headerFlag
}

func newPubCmd(a *app) *cobra.Command {
	c := &pubCmd{app: a}
	cmd := &cobra.Command{
		Use:   "pub SUBJECT [DATA]",
		Short: "Publish messages to the subscribers of a subject",
		Long: `Publish DATA to SUBJECT, --count times. Without DATA, publish one message per
line read from stdin (without the line ending). Exits once the broker has
processed every message.`,
		Example: `  ferry pub orders.eu.created '{"id":1}'
  ferry pub sensors.temp 21.5 --count 10 --header unit=celsius
  printf 'one\ntwo\n' | ferry pub demo.lines`,
		Args: positional([]string{"SUBJECT"}, "DATA"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkCount(c.count); err != nil {
				return err
			}
			if len(args) == 1 && cmd.Flags().Changed("count") {
				return usageErrorf("--count needs DATA; lines from stdin are published once each")
			}
			return c.run(cmd.Context(), args)
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().IntVarP(&c.count, "count", "n", 1, "publish DATA this many times")
	cmd.Flags().Var(&c.headers, "header", "message header key=value (repeatable)")
	return cmd
}

func (c *pubCmd) run(ctx context.Context, args []string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	subject := args[0]
	publish := func(data []byte) error {
		m := &ferry.Msg{Subject: subject, Header: c.headers.h, Data: data}
		return nc.PublishMsg(m) // its errors name the subject
	}
	if len(args) == 2 {
		for range c.count {
			if err := publish([]byte(args[1])); err != nil {
				return err
			}
		}
	} else if err := publishLines(ctx, c.app, publish); err != nil {
		return err
	}
	if err := nc.Flush(ctx); err != nil {
		return interrupted(ctx, fmt.Errorf("flush: %w", err))
	}
	return nil
}

// publishLines calls publish for each line of stdin until EOF or ctx ends.
func publishLines(ctx context.Context, a *app, publish func([]byte) error) error {
	lines := make(chan []byte)
	scanErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // reading stdin cannot be cancelled; let it block alone
		sc := bufio.NewScanner(a.stdin)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			select {
			case lines <- append([]byte(nil), sc.Bytes()...):
			case <-stop:
				return
			}
		}
		scanErr <- sc.Err()
	}()
	for {
		select {
		case line := <-lines:
			if err := publish(line); err != nil {
				return err
			}
		case err := <-scanErr:
			if err != nil {
				return fmt.Errorf("read stdin: %w", err)
			}
			return nil
		case <-ctx.Done():
			return errInterrupted
		}
	}
}
