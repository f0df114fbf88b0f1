package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

func newRouteCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Inspect how the broker routes targeted messages",
		Long: `Inspect routing decisions without sending anything. See 'ferry route explain
--help'.`,
		Example: `  ferry route explain anycast --where type=edge --policy nearest --near 48.86,2.35 --subject content.get
  ferry route explain '#channel.7' --subject video.frame`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRouteExplainCmd(a))
	return cmd
}

type routeExplainCmd struct {
	app     *app
	client  *clientFlags
	subject string
	where   string
	policy  policyFlag
	near    locationFlag
	key     string
	json    bool
}

func newRouteExplainCmd(a *app) *cobra.Command {
	c := &routeExplainCmd{app: a}
	cmd := &cobra.Command{
		Use:   "explain TARGET",
		Short: "Show the candidates of a send and which the broker would choose",
		Long: `Ask the broker how a message on --subject to TARGET would be routed, without
sending it. TARGET is one of:

  @ID        unicast to the endpoint ID
  broadcast  every endpoint (narrowed by --where)
  '#GROUP'   multicast to the members of GROUP; with --policy, anycast
             among them (quote it: an unquoted # starts a shell comment)
  anycast    one endpoint chosen by --policy (default round-robin)
  multicast  every endpoint --where admits (--where is required)

Prints every candidate the broker considered, then the chosen endpoints and
why:

  ID        MATCHED  SUBSCRIBED  DISTANCE  REGION  LOAD  RANK
  edge-fra  yes      yes         262 km    eu      0/0B  1

MATCHED: the --where selector admits it; SUBSCRIBED: it has a subscription
of the right scope matching the subject (inbox, or group for a group);
DISTANCE: from the origin (--near, or this endpoint's --location), for
nearest; REGION: the candidate's region, "(same)" when it is this
endpoint's; LOAD: messages/bytes queued for it in the broker; RANK: the
policy's order, 1 is the choice (anycast only).

With --json, print the broker's explanation as one JSON object:
  {"mode","subject","policy","where","origin":{"lat","lon"},
   "candidates":[{"id","region","location","matched","subscribed",
   "distance_km","region_match","pending_msgs","pending_bytes","rank"}],
   "chosen":[ids],"reason"}`,
		Example: `  ferry route explain anycast --where type=edge --policy nearest --near 48.8566,2.3522 --subject content.get
  ferry route explain '#channel.7' --subject video.frame
  ferry route explain '#workers' --policy least-loaded --subject jobs.run
  ferry route explain multicast --where 'subnet=10.0.1.0/24' --subject cmd.reboot
  ferry route explain @cam-7 --subject cmd.reboot --json`,
		Args: positional([]string{"TARGET"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := c.target(cmd, args[0])
			if err != nil {
				return err
			}
			return c.run(cmd.Context(), t)
		},
	}
	c.client = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&c.subject, "subject", "x", "the subject of the message to route")
	f.StringVarP(&c.where, "where", "w", "", "narrow the candidates to endpoints whose labels match this selector")
	f.VarP(&c.policy, "policy", "p", policyUsage("for anycast (and '#GROUP' to anycast among its members)"))
	f.Var(&c.near, "near", "with --policy nearest: measure distance from this point LAT,LON instead of --location")
	f.StringVar(&c.key, "key", "", "with --policy hash: the key that picks the receiver (default: the subject)")
	f.BoolVar(&c.json, "json", false, "print the explanation as JSON")
	return cmd
}

// explainOptions are the flags that shape an explained target.
type explainOptions struct {
	where     string
	policy    ferry.Policy
	hasPolicy bool
	near      locationFlag
	key       string
	hasKey    bool
}

func (c *routeExplainCmd) target(cmd *cobra.Command, text string) (ferry.Target, error) {
	return parseExplainTarget(text, explainOptions{
		where: c.where, policy: c.policy.p, hasPolicy: c.policy.set,
		near: c.near, key: c.key, hasKey: cmd.Flags().Changed("key"),
	})
}

// parseExplainTarget turns route explain's TARGET and flags into a target.
func parseExplainTarget(text string, o explainOptions) (ferry.Target, error) {
	var t ferry.Target
	anycast := false
	switch {
	case strings.HasPrefix(text, "@"):
		if text == "@" {
			return t, usageErrorf("TARGET %q: missing the endpoint ID after '@'", text)
		}
		t = ferry.ToEndpoint(text[1:])
	case strings.HasPrefix(text, "#"):
		if text == "#" {
			return t, usageErrorf("TARGET %q: missing the group name after '#'", text)
		}
		if o.hasPolicy {
			t, anycast = anycastTarget(o.policy, text[1:], o.where, o.near, o.key), true
		} else {
			t = multicastTarget(text[1:], o.where)
		}
	case text == "broadcast":
		t = ferry.Broadcast()
		if o.where != "" {
			t = t.Where(o.where)
		}
	case text == "anycast":
		t, anycast = anycastTarget(o.policy, "", o.where, o.near, o.key), true
	case text == "multicast":
		if strings.TrimSpace(o.where) == "" {
			return t, usageErrorf("TARGET multicast needs --where SELECTOR ('#GROUP' names a group)")
		}
		t = ferry.MulticastWhere(o.where)
	default:
		return t, usageErrorf("unknown TARGET %q: want @ID, broadcast, '#GROUP', anycast or multicast", text)
	}
	if !anycast {
		switch {
		case o.hasPolicy:
			return t, usageErrorf("--policy applies to anycast and '#GROUP', not to %s", text)
		case o.near.set, o.hasKey:
			return t, usageErrorf("--near and --key apply to anycast only")
		}
		return t, nil
	}
	return t, checkPolicyFlags(o.policy, o.near.set, o.hasKey)
}

func (c *routeExplainCmd) run(ctx context.Context, t ferry.Target) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	ex, err := nc.Explain(qctx, c.subject, t)
	if err != nil {
		return interrupted(ctx, err) // it names the subject and target
	}
	if c.json {
		return writeJSON(c.app, toJSONExplanation(ex))
	}
	return writeExplanation(c.app, ex)
}

// jsonExplanation is the --json form of an explanation: the broker's own.
type jsonExplanation struct {
	Mode       string          `json:"mode"`
	Subject    string          `json:"subject"`
	Policy     string          `json:"policy,omitempty"`
	Where      string          `json:"where,omitempty"`
	Origin     *jsonLocation   `json:"origin,omitempty"`
	Candidates []jsonCandidate `json:"candidates"`
	Chosen     []string        `json:"chosen"`
	Reason     string          `json:"reason"`
}

type jsonCandidate struct {
	ID           string        `json:"id"`
	Region       string        `json:"region,omitempty"`
	Location     *jsonLocation `json:"location,omitempty"`
	Matched      bool          `json:"matched"`
	Subscribed   bool          `json:"subscribed"`
	DistanceKm   *float64      `json:"distance_km,omitempty"`
	RegionMatch  bool          `json:"region_match"`
	PendingMsgs  int           `json:"pending_msgs"`
	PendingBytes int           `json:"pending_bytes"`
	Rank         int           `json:"rank,omitempty"`
}

func toJSONExplanation(ex *ferry.Explanation) jsonExplanation {
	j := jsonExplanation{
		Mode: ex.Mode, Subject: ex.Subject, Policy: ex.Policy, Where: ex.Where,
		Origin: toJSONLocation(ex.Origin), Candidates: []jsonCandidate{}, Chosen: ex.Chosen, Reason: ex.Reason,
	}
	if j.Chosen == nil {
		j.Chosen = []string{}
	}
	for _, cd := range ex.Candidates {
		j.Candidates = append(j.Candidates, jsonCandidate{
			ID: cd.ID, Region: cd.Region, Location: toJSONLocation(cd.Location), Matched: cd.Matched,
			Subscribed: cd.Subscribed, DistanceKm: cd.DistanceKm, RegionMatch: cd.RegionMatch,
			PendingMsgs: cd.PendingMsgs, PendingBytes: cd.PendingBytes, Rank: cd.Rank,
		})
	}
	return j
}

// writeExplanation prints an explanation as a heading, the candidates
// table, the choice and the reason.
func writeExplanation(a *app, ex *ferry.Explanation) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s", ex.Mode, ex.Subject)
	if ex.Policy != "" {
		fmt.Fprintf(&b, ", policy %s", ex.Policy)
	}
	if ex.Where != "" {
		fmt.Fprintf(&b, ", where %s", ex.Where)
	}
	if ex.Origin != nil {
		fmt.Fprintf(&b, ", origin %s", formatLocation(ex.Origin))
	}
	b.WriteString("\n")
	if _, err := fmt.Fprint(a.stdout, b.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMATCHED\tSUBSCRIBED\tDISTANCE\tREGION\tLOAD\tRANK")
	for _, cd := range ex.Candidates {
		dist := "-"
		if cd.DistanceKm != nil {
			dist = strconv.FormatFloat(*cd.DistanceKm, 'f', 0, 64) + " km"
		}
		region := dash(cd.Region)
		if cd.RegionMatch {
			region += " (same)"
		}
		rank := "-"
		if cd.Rank > 0 {
			rank = strconv.Itoa(cd.Rank)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cd.ID, yesNo(cd.Matched), yesNo(cd.Subscribed),
			dist, region, formatLoad(cd.PendingMsgs, cd.PendingBytes), rank)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	chosen := "none"
	if len(ex.Chosen) > 0 {
		chosen = strings.Join(ex.Chosen, ",")
	}
	if _, err := fmt.Fprintf(a.stdout, "chosen: %s\nreason: %s\n", chosen, ex.Reason); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
