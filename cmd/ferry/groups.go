package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

type groupsCmd struct {
	app    *app
	client *clientFlags
	json   bool
}

func newGroupsCmd(a *app) *cobra.Command {
	c := &groupsCmd{app: a}
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List the multicast groups and their members",
		Long: `List the multicast groups on the broker (see 'ferry join') as a table:

  NAME       MEMBERS  MEMBER IDS
  channel.7  3        tv-1,tv-2,tv-3

With --json, print a JSON array instead:

  [{"name":"channel.7","members":["tv-1","tv-2","tv-3"]}]`,
		Example: `  ferry groups
  ferry groups --json`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run(cmd.Context())
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().BoolVar(&c.json, "json", false, "print a JSON array")
	return cmd
}

// jsonGroup is the --json form of a group.
type jsonGroup struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (c *groupsCmd) run(ctx context.Context) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	groups, err := nc.Groups(qctx)
	if err != nil {
		return interrupted(ctx, err) // it says "groups: ..."
	}
	if c.json {
		out := make([]jsonGroup, len(groups))
		for i, g := range groups {
			out[i] = jsonGroup{Name: g.Name, Members: g.Members}
			if out[i].Members == nil {
				out[i].Members = []string{}
			}
		}
		return writeJSON(c.app, out)
	}
	return writeGroupsTable(c.app, groups)
}

func writeGroupsTable(a *app, groups []ferry.GroupInfo) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMEMBERS\tMEMBER IDS")
	for _, g := range groups {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", g.Name, len(g.Members), dash(strings.Join(g.Members, ",")))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
