package main

// Helpers shared by the routing commands: broadcast, multicast, anycast,
// join, groups, endpoints and route.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

// queryTimeout bounds the queries of groups, endpoints and route explain,
// and leaving a group on the way out.
const queryTimeout = 5 * time.Second

// policyNames lists the anycast policy names the client knows, in wire
// order.
func policyNames() []string {
	var names []string
	for i := 0; i < 256; i++ {
		n := ferry.Policy(i).String()
		if _, err := ferry.ParsePolicy(n); err != nil {
			break
		}
		names = append(names, n)
	}
	return names
}

// policyFlag is an anycast policy given by name.
type policyFlag struct {
	set bool
	p   ferry.Policy
}

func (f *policyFlag) Set(s string) error {
	p, err := ferry.ParsePolicy(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("unknown policy; want one of %s", strings.Join(policyNames(), ", "))
	}
	f.set, f.p = true, p
	return nil
}

func (f *policyFlag) String() string { return f.p.String() }

func (f *policyFlag) Type() string { return "policy" }

// policyUsage is the help text of every --policy flag.
func policyUsage(what string) string {
	return what + ": " + strings.Join(policyNames(), ", ")
}

// plural returns "1 endpoint", "2 endpoints", "0 replies".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return strconv.Itoa(n) + " " + noun[:len(noun)-1] + "ies"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// gatherFlags are the scatter-gather flags of broadcast and multicast.
type gatherFlags struct {
	request    bool
	maxReplies int
	quiet      time.Duration
	json       bool
}

func addGatherFlags(cmd *cobra.Command) *gatherFlags {
	g := &gatherFlags{}
	f := cmd.Flags()
	f.BoolVarP(&g.request, "request", "r", false, "send a request and collect the replies (scatter-gather)")
	f.IntVar(&g.maxReplies, "max-replies", 0, "with --request: stop after this many replies (0: no limit)")
	f.DurationVar(&g.quiet, "quiet", 0, "with --request: stop once no reply came for this long (0: wait for all or --timeout)")
	f.BoolVar(&g.json, "json", false, "with --request: print each reply as a JSON object")
	return g
}

// check rejects gather flags given without --request.
func (g *gatherFlags) check(cmd *cobra.Command) error {
	if g.maxReplies < 0 {
		return usageErrorf("--max-replies must not be negative, got %d", g.maxReplies)
	}
	if g.quiet < 0 {
		return usageErrorf("--quiet must not be negative, got %s", g.quiet)
	}
	if !g.request {
		for _, name := range []string{"max-replies", "quiet", "json"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s needs --request", name)
			}
		}
	}
	return nil
}

func (g *gatherFlags) options() []ferry.GatherOption {
	var opts []ferry.GatherOption
	if g.maxReplies > 0 {
		opts = append(opts, ferry.MaxReplies(g.maxReplies))
	}
	if g.quiet > 0 {
		opts = append(opts, ferry.QuietPeriod(g.quiet))
	}
	return opts
}

// gatherHelp documents --request in broadcast and multicast.
const gatherHelp = `With --request the message is a request and every receiver may answer it
(scatter-gather). Each reply is printed to stdout as

  FROM: PAYLOAD

(or, with --json, as one JSON object per line, see 'ferry sub --help'),
followed on stderr by a summary:

  N replies, M declined, reached R (complete|incomplete)

The gather is complete when every receiver reached has answered or declined
(see 'ferry reply --match'); it ends earlier after --max-replies replies, or
once no reply came for --quiet, and at the latest after --timeout. Exits
with status 1 when nobody could receive the request ("no responders") or
no reply came.`

// formatFrom prints "FROM: PAYLOAD".
func formatFrom(b *bytes.Buffer, m *ferry.Msg) {
	b.WriteString(m.From)
	b.WriteString(": ")
	b.Write(m.Data)
}

// targetedSend sends m and reports on stderr how many endpoints it reached.
// Reaching nobody is not an error for a broadcast or multicast.
func targetedSend(ctx context.Context, a *app, nc *ferry.Conn, m *ferry.Msg, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := nc.SendMsg(sctx, m)
	switch {
	case err == nil, errors.Is(err, ferry.ErrNoResponders):
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timeout after %s sending %s to %s", timeout, m.Subject, m.Target)
	default:
		return err // it names the subject and target
	}
	fmt.Fprintf(a.stderr, "reached %s\n", plural(n, "endpoint"))
	return nil
}

// gather sends m as a request to many and prints the replies.
func (g *gatherFlags) gather(ctx context.Context, a *app, nc *ferry.Conn, m *ferry.Msg, timeout time.Duration) error {
	gctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := nc.RequestMany(gctx, m, g.options()...)
	timedOut := err != nil && (errors.Is(err, ferry.ErrTimeout) || errors.Is(err, context.DeadlineExceeded))
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return errInterrupted
	case errors.Is(err, ferry.ErrNoResponders):
		return fmt.Errorf("no responders for %s (%s)", m.Subject, m.Target)
	case timedOut && res == nil:
		return fmt.Errorf("timeout after %s: no replies on %s", timeout, m.Subject)
	case !timedOut:
		return err // it names the subject and target
	}
	p := newPrinter(a.stdout, pickFormat(g.json, formatFrom))
	for _, r := range res.Replies {
		if err := p.print(r); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	fmt.Fprintln(a.stderr, gatherSummary(res))
	if len(res.Replies) == 0 {
		if res.Complete {
			return errors.New("no replies: every receiver declined")
		}
		if gctx.Err() == nil {
			return fmt.Errorf("no replies within the quiet period of %s", g.quiet)
		}
		return fmt.Errorf("no replies within %s", timeout)
	}
	return nil
}

// gatherSummary is "N replies, M declined, reached R (complete)".
func gatherSummary(g *ferry.Gather) string {
	state := "incomplete"
	if g.Complete {
		state = "complete"
	}
	return fmt.Sprintf("%s, %d declined, reached %d (%s)", plural(len(g.Replies), "reply"), g.Declined, g.Reached, state)
}

// formatLabels prints labels as k=v,k=v sorted by key.
func formatLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

// formatLocation prints a location as LAT,LON, or "-".
func formatLocation(l *ferry.Location) string {
	if l == nil {
		return "-"
	}
	return strconv.FormatFloat(l.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(l.Lon, 'f', -1, 64)
}

// dash returns s, or "-" when it is empty, for table cells.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatLoad prints pending messages and bytes as "MSGS/BYTES".
func formatLoad(msgs, bytes int) string {
	return strconv.Itoa(msgs) + "/" + formatBytes(bytes)
}

// formatBytes prints a byte count with a binary unit: 0B, 512B, 1.5KiB.
func formatBytes(n int) string {
	const unit = 1024
	if n < unit {
		return strconv.Itoa(n) + "B"
	}
	v := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		if v < unit || u == "TiB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + u
		}
	}
	return strconv.Itoa(n) + "B" // not reached
}

// jsonLocation is a location in the --json outputs.
type jsonLocation struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

func toJSONLocation(l *ferry.Location) *jsonLocation {
	if l == nil {
		return nil
	}
	return &jsonLocation{Lat: l.Lat, Lon: l.Lon}
}

// writeJSON writes v as indented JSON.
func writeJSON(a *app, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	if _, err := a.stdout.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
