package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type endpointsCmd struct {
	app    *app
	client *clientFlags
	where  string
	json   bool
}

func newEndpointsCmd(a *app) *cobra.Command {
	c := &endpointsCmd{app: a}
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "List the connected endpoints, optionally by label selector",
		Long: `List the endpoints connected to the broker, or with --where those whose labels
match the selector (see docs/selectors.md), as a table:

  ID        NAME  REGION  LOCATION        LABELS     GROUPS  SUBS  PENDING
  edge-fra  -     eu      50.1109,8.6821  type=edge  -       1     0/0B

PENDING is the messages/bytes queued in the broker for the endpoint. The
endpoint running this command is listed too. With --json, print a JSON array:

  [{"id":"edge-fra","name":"","region":"eu","labels":{"type":"edge"},
    "location":{"lat":50.1109,"lon":8.6821},"groups":[],"subscriptions":1,
    "pending_msgs":0,"pending_bytes":0}]

"location" is null for an endpoint without one.`,
		Example: `  ferry endpoints
  ferry endpoints --where 'type=camera,subnet=10.0.1.0/24'
  ferry endpoints --where 'version!=1,tier' --json`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run(cmd.Context())
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().StringVarP(&c.where, "where", "w", "", "only endpoints whose labels match this selector")
	cmd.Flags().BoolVar(&c.json, "json", false, "print a JSON array")
	return cmd
}

// jsonEndpoint is the --json form of an endpoint.
type jsonEndpoint struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Region        string            `json:"region"`
	Labels        map[string]string `json:"labels"`
	Location      *jsonLocation     `json:"location"`
	Groups        []string          `json:"groups"`
	Subscriptions int               `json:"subscriptions"`
	PendingMsgs   int               `json:"pending_msgs"`
	PendingBytes  int               `json:"pending_bytes"`
}

func toJSONEndpoint(e ferry.EndpointInfo) jsonEndpoint {
	j := jsonEndpoint{
		ID: e.ID, Name: e.Name, Region: e.Region, Labels: e.Labels, Location: toJSONLocation(e.Location),
		Groups: e.Groups, Subscriptions: e.Subscriptions, PendingMsgs: e.PendingMsgs, PendingBytes: e.PendingBytes,
	}
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	if j.Groups == nil {
		j.Groups = []string{}
	}
	return j
}

func (c *endpointsCmd) run(ctx context.Context) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	eps, err := nc.Endpoints(qctx, c.where)
	if err != nil {
		return interrupted(ctx, err) // it says "endpoints: ..."
	}
	if c.json {
		out := make([]jsonEndpoint, len(eps))
		for i, e := range eps {
			out[i] = toJSONEndpoint(e)
		}
		return writeJSON(c.app, out)
	}
	return writeEndpointsTable(c.app, eps)
}

func writeEndpointsTable(a *app, eps []ferry.EndpointInfo) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tREGION\tLOCATION\tLABELS\tGROUPS\tSUBS\tPENDING")
	for _, e := range eps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", e.ID, dash(tableCell(e.Name)), dash(e.Region),
			formatLocation(e.Location), dash(formatLabels(e.Labels)), dash(strings.Join(e.Groups, ",")),
			e.Subscriptions, formatLoad(e.PendingMsgs, e.PendingBytes))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// tableCell keeps free text (a client name) from breaking the table.
func tableCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
