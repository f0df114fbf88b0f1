package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type anycastCmd struct {
	app            *app
	client         *clientFlags
	where          string
	group          string
	policy         policyFlag
	near           locationFlag
	key            string
	request        bool
	ack            bool
	json           bool
	timeout        time.Duration
	attemptTimeout time.Duration
	headers        headerFlag
}

func newAnycastCmd(a *app) *cobra.Command {
	c := &anycastCmd{app: a}
	cmd := &cobra.Command{
		Use:   "anycast SUBJECT DATA",
		Short: "Send a message to exactly one endpoint chosen by a policy (anycast)",
		Long: `Send DATA on SUBJECT to exactly one endpoint, chosen by --policy among the
candidates: the endpoints with an inbox subscription matching SUBJECT (see
'ferry listen' and 'ferry reply'), or with --group the members of a group
on their group subscriptions (see 'ferry join'), narrowed by --where.

Policies (default round-robin):
  round-robin   rotate through the candidates
  nearest       smallest distance from --near, else from this endpoint's
                --location; then same --region; then the least loaded
  least-loaded  fewest bytes queued in the broker for the candidate
  random        uniformly at random
  hash          the same --key (default: the subject) goes to the same
                candidate while it is connected

Without --request or --ack, waits until the broker has routed the message and
prints "delivered to 1 endpoint" to stderr.

With --request the message is a request: the reply's payload is printed to
stdout (the whole reply as JSON with --json) and "answered by ID" to stderr.
When the chosen endpoint disconnects, declines, or does not answer within
--attempt-timeout, the broker hands the request to the next-ranked candidate
(at most 3 attempts).

With --ack the receiver's client acknowledges the message once handled, and
"acknowledged by ID" is printed to stderr.

Exits with status 1 at once when no candidate can receive the message ("no
responders"), and after --timeout when no answer came.`,
		Example: `  ferry anycast jobs.encode movie.mp4 --where 'type=transcoder,!draining'
  ferry anycast content.get /index.html --request --policy nearest --location 48.86,2.35 --where type=edge
  ferry anycast content.get /a --request --policy nearest --near 1.35,103.82 --attempt-timeout 300ms
  ferry anycast carts.update item=3 --policy hash --key user-42 --ack
  ferry anycast work.q job-1 --group workers --policy least-loaded`,
		Args: positional([]string{"SUBJECT", "DATA"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.check(cmd); err != nil {
				return err
			}
			return c.run(cmd.Context(), args[0], args[1])
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&c.where, "where", "w", "", "only candidates whose labels match this selector, e.g. 'type=edge,region in (eu,us)'")
	f.StringVarP(&c.group, "group", "g", "", "choose among the members of this group (see 'ferry join')")
	f.VarP(&c.policy, "policy", "p", policyUsage("how to choose the receiver"))
	f.Var(&c.near, "near", "with --policy nearest: measure distance from this point LAT,LON instead of --location")
	f.StringVar(&c.key, "key", "", "with --policy hash: the key that picks the receiver (default: the subject)")
	f.BoolVarP(&c.request, "request", "r", false, "send a request and print the reply")
	f.BoolVar(&c.ack, "ack", false, "wait until the receiver has handled the message")
	f.BoolVar(&c.json, "json", false, "with --request: print the whole reply as a JSON object (see 'ferry sub --help')")
	f.DurationVarP(&c.timeout, "timeout", "t", 2*time.Second, "how long to wait for the broker, the reply or the acknowledgement")
	f.DurationVar(&c.attemptTimeout, "attempt-timeout", 0, "with --request or --ack: how long each candidate has before the next one is tried (0: only on disconnect)")
	f.Var(&c.headers, "header", "message header key=value (repeatable)")
	return cmd
}

// check rejects flags that do not go together.
func (c *anycastCmd) check(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	switch {
	case c.request && c.ack:
		return usageErrorf("give --request or --ack, not both")
	case changed("json") && !c.request:
		return usageErrorf("--json needs --request")
	case changed("attempt-timeout") && !c.request && !c.ack:
		return usageErrorf("--attempt-timeout needs --request or --ack")
	case c.attemptTimeout < 0:
		return usageErrorf("--attempt-timeout must not be negative, got %s", c.attemptTimeout)
	}
	return checkPolicyFlags(c.policy.p, c.near.set, changed("key"))
}

// checkPolicyFlags rejects --near and --key with a policy that ignores them.
func checkPolicyFlags(p ferry.Policy, near, key bool) error {
	switch {
	case near && p != ferry.Nearest:
		return usageErrorf("--near needs --policy nearest (the policy is %s)", p)
	case key && p != ferry.Hash:
		return usageErrorf("--key needs --policy hash (the policy is %s)", p)
	}
	return nil
}

// target builds the anycast target from the flags.
func (c *anycastCmd) target() ferry.Target {
	t := anycastTarget(c.policy.p, c.group, c.where, c.near, c.key)
	if c.attemptTimeout > 0 {
		t = t.AttemptTimeout(c.attemptTimeout)
	}
	return t
}

// anycastTarget is an anycast by policy among the members of group (or
// all endpoints), narrowed by where.
func anycastTarget(p ferry.Policy, group, where string, near locationFlag, key string) ferry.Target {
	t := ferry.Anycast(p)
	if group != "" {
		t = t.Group(group)
	}
	if where != "" {
		t = t.Where(where)
	}
	if near.set {
		t = t.Near(near.lat, near.lon)
	}
	if key != "" {
		t = t.Key(key)
	}
	return t
}

func (c *anycastCmd) run(ctx context.Context, subject, data string) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	m := &ferry.Msg{Subject: subject, Header: c.headers.h, Data: []byte(data), Target: c.target()}
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	switch {
	case c.request:
		reply, err := nc.RequestMsg(sctx, m)
		if err == nil {
			err = replyStatus(reply)
		}
		if err != nil {
			return c.explain(ctx, m, "a reply", err)
		}
		p := newPrinter(c.app.stdout, pickFormat(c.json, formatPayload))
		if err := p.print(reply); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		fmt.Fprintf(c.app.stderr, "answered by %s\n", reply.From)
	case c.ack:
		from, err := nc.SendAck(sctx, m)
		if err != nil {
			return c.explain(ctx, m, "an acknowledgement", err)
		}
		fmt.Fprintf(c.app.stderr, "acknowledged by %s\n", from)
	default:
		n, err := nc.SendMsg(sctx, m)
		if err != nil {
			return c.explain(ctx, m, "the broker", err)
		}
		fmt.Fprintf(c.app.stderr, "delivered to %s\n", plural(n, "endpoint"))
	}
	return nil
}

// errDeclined reports a receiver that declined a request.
var errDeclined = errors.New("declined")

// replyStatus turns a status reply (no answer, but a note about the request)
// into an error.
func replyStatus(r *ferry.Msg) error {
	switch r.Status() {
	case ferry.StatusNoResponders:
		return ferry.ErrNoResponders
	case ferry.StatusDeclined:
		return fmt.Errorf("%w by %s", errDeclined, r.From)
	}
	return nil
}

// explain turns a failed anycast into the message the user sees.
func (c *anycastCmd) explain(ctx context.Context, m *ferry.Msg, waitingFor string, err error) error {
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrNoResponders):
		return fmt.Errorf("no responders for %s (%s)", m.Subject, m.Target)
	case errors.Is(err, errDeclined):
		return fmt.Errorf("request on %s %s", m.Subject, err)
	case errors.Is(err, ferry.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout after %s waiting for %s on %s", c.timeout, waitingFor, m.Subject)
	}
	return err // it names the subject and target
}
