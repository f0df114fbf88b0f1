package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

// modeNames are the routing modes in the order of ServerStats.MsgsInByMode.
var modeNames = [5]string{"publish", "unicast", "broadcast", "multicast", "anycast"}

type statusCmd struct {
	app    *app
	client *clientFlags
	sample time.Duration
	json   bool
}

func newStatusCmd(a *app) *cobra.Command {
	c := &statusCmd{app: a}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the broker's counters and message rates",
		Long: `Connect to the broker and print a summary: server, uptime, connections,
endpoints, subscriptions, messages and bytes in and out with their rates,
publishes that reached nobody, slow consumers, backpressure drops, anycast
failovers, streams, and the ten busiest subjects. Rates are measured over
--sample (1s): two queries of the server's counters, that far apart. The
connection running this command counts among the connections and
endpoints. Replies to request inboxes are not counted as subjects.

  server          ferry 0.1.0
  uptime          3h12m5s
  connections     12
  endpoints       12
  subscriptions   40
  messages in     1048576  (2150.3/s)  publish 1000000, unicast 48000, anycast 576
  messages out    2097152  (4300.6/s)
  ...

  top subjects
    orders.eu.created  912004  1804.2/s
    cmd.snapshot       48000   95.0/s

With --json, print one JSON object (counters, "messages_in_by_mode",
"rates" per second over "sample_seconds", and "top_subjects" with each
one's "total" and "rate", null when unknown). For Prometheus, scrape the
server's /metrics instead (ferry serve --http).`,
		Example: `  ferry status
  ferry status --json
  ferry status --sample 0 --server ferry://broker:7420`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.sample < 0 {
				return usageError{errors.New("--sample must not be negative")}
			}
			return c.run(cmd.Context())
		},
	}
	c.client = addClientFlags(cmd)
	cmd.Flags().DurationVar(&c.sample, "sample", time.Second, "interval over which rates are measured; 0 skips rates")
	cmd.Flags().BoolVar(&c.json, "json", false, "print a JSON object")
	return cmd
}

// jsonStatus is the --json form of the status.
type jsonStatus struct {
	Server           string            `json:"server"`
	UptimeSeconds    float64           `json:"uptime_seconds"`
	Connections      int               `json:"connections"`
	Endpoints        int               `json:"endpoints"`
	Subscriptions    int64             `json:"subscriptions"`
	MessagesIn       uint64            `json:"messages_in"`
	MessagesInByMode map[string]uint64 `json:"messages_in_by_mode"`
	MessagesOut      uint64            `json:"messages_out"`
	BytesIn          uint64            `json:"bytes_in"`
	BytesOut         uint64            `json:"bytes_out"`
	NoReceivers      uint64            `json:"no_receivers"`
	SlowConsumers    uint64            `json:"slow_consumers"`
	Dropped          uint64            `json:"dropped"`
	Failovers        uint64            `json:"failovers"`
	Streams          uint64            `json:"streams"`
	StreamMessages   uint64            `json:"stream_messages"`
	StreamStalls     uint64            `json:"stream_stalls"`
	SampleSeconds    float64           `json:"sample_seconds"`
	Rates            *jsonRates        `json:"rates"` // null without a sample
	TopSubjects      []jsonSubject     `json:"top_subjects"`
}

// jsonSubject is one of the busiest subjects.
type jsonSubject struct {
	Subject string   `json:"subject"`
	Total   uint64   `json:"total"`
	Rate    *float64 `json:"rate"` // per second over the sample; null without one or for a subject new in it
}

// topShown is how many subjects status lists.
const topShown = 10

// jsonRates are per-second rates over the sample.
type jsonRates struct {
	MessagesIn     float64 `json:"messages_in"`
	MessagesOut    float64 `json:"messages_out"`
	BytesIn        float64 `json:"bytes_in"`
	BytesOut       float64 `json:"bytes_out"`
	StreamMessages float64 `json:"stream_messages"`
}

func (c *statusCmd) run(ctx context.Context) error {
	nc, err := c.client.connect(c.app)
	if err != nil {
		return err
	}
	defer nc.Close()
	query := func() (*ferry.ServerInfo, time.Time, error) {
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		si, err := nc.ServerInfo(qctx)
		return si, time.Now(), interrupted(ctx, err) // it says "server info: ..."
	}
	first, t0, err := query()
	if err != nil {
		return err
	}
	last := first
	var rates *jsonRates
	subjectRate := func(ferry.SubjectRate) *float64 { return nil }
	if c.sample > 0 {
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-time.After(c.sample):
		}
		var t1 time.Time
		if last, t1, err = query(); err != nil {
			return err
		}
		dt := (last.Stats.Uptime - first.Stats.Uptime).Seconds() // the server's clock
		if dt <= 0 {
			dt = t1.Sub(t0).Seconds()
		}
		rate := func(a, b uint64) float64 {
			if dt <= 0 || b < a {
				return 0
			}
			return float64(b-a) / dt
		}
		f, l := &first.Stats, &last.Stats
		rates = &jsonRates{
			MessagesIn: rate(f.MsgsIn, l.MsgsIn), MessagesOut: rate(f.MsgsOut, l.MsgsOut),
			BytesIn: rate(f.BytesIn, l.BytesIn), BytesOut: rate(f.BytesOut, l.BytesOut),
			StreamMessages: rate(f.StreamMsgs, l.StreamMsgs),
		}
		subjectRate = func(s ferry.SubjectRate) *float64 {
			for _, p := range first.TopSubjects {
				if p.Subject == s.Subject {
					r := rate(p.Total, s.Total)
					return &r
				}
			}
			return nil
		}
	}
	st := toJSONStatus(last, rates, c.sample)
	st.TopSubjects = topSubjectsOf(last.TopSubjects, subjectRate)
	if c.json {
		return writeJSON(c.app, st)
	}
	return writeStatus(c.app, st)
}

// topSubjectsOf lists the busiest subjects with their rates over the
// sample, busiest first: by rate where both have one, then by total.
func topSubjectsOf(subjects []ferry.SubjectRate, rate func(ferry.SubjectRate) *float64) []jsonSubject {
	out := make([]jsonSubject, 0, len(subjects))
	for _, s := range subjects {
		out = append(out, jsonSubject{Subject: s.Subject, Total: s.Total, Rate: rate(s)})
	}
	value := func(r *float64) float64 {
		if r == nil {
			return -1
		}
		return *r
	}
	slices.SortStableFunc(out, func(a, b jsonSubject) int {
		return cmp.Or(cmp.Compare(value(b.Rate), value(a.Rate)), cmp.Compare(b.Total, a.Total))
	})
	return out[:min(len(out), topShown)]
}

func toJSONStatus(si *ferry.ServerInfo, rates *jsonRates, sample time.Duration) jsonStatus {
	s := &si.Stats
	byMode := make(map[string]uint64, len(modeNames))
	for i, n := range s.MsgsInByMode {
		byMode[modeNames[i]] = n
	}
	js := jsonStatus{
		Server: si.Server, UptimeSeconds: s.Uptime.Seconds(), Connections: si.Connections,
		Endpoints: s.Endpoints, Subscriptions: s.Subscriptions,
		MessagesIn: s.MsgsIn, MessagesInByMode: byMode, MessagesOut: s.MsgsOut,
		BytesIn: s.BytesIn, BytesOut: s.BytesOut, NoReceivers: s.NoReceivers,
		SlowConsumers: s.SlowConsumers, Dropped: si.Dropped, Failovers: s.Failovers,
		Streams: s.Streams, StreamMessages: s.StreamMsgs, StreamStalls: s.StreamStalls,
		Rates: rates,
	}
	if rates != nil {
		js.SampleSeconds = sample.Seconds()
	}
	return js
}

func writeStatus(a *app, s jsonStatus) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	perSec := func(r float64, format func(float64) string) string {
		if s.Rates == nil {
			return ""
		}
		return "(" + format(r) + "/s)"
	}
	count := func(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }
	size := func(r float64) string { return formatBytes(int(r)) }
	var rin, rout, rbin, rbout, rstream float64
	if s.Rates != nil {
		rin, rout, rbin, rbout, rstream = s.Rates.MessagesIn, s.Rates.MessagesOut, s.Rates.BytesIn, s.Rates.BytesOut, s.Rates.StreamMessages
	}
	byMode := ""
	for _, m := range modeNames {
		if n := s.MessagesInByMode[m]; n > 0 {
			if byMode != "" {
				byMode += ", "
			}
			byMode += m + " " + strconv.FormatUint(n, 10)
		}
	}
	up := (time.Duration(s.UptimeSeconds) * time.Second).Round(time.Second)
	rows := [][3]string{
		{"server", s.Server},
		{"uptime", up.String()},
		{"connections", strconv.Itoa(s.Connections)},
		{"endpoints", strconv.Itoa(s.Endpoints)},
		{"subscriptions", strconv.FormatInt(s.Subscriptions, 10)},
		{"messages in", strconv.FormatUint(s.MessagesIn, 10), join(perSec(rin, count), byMode)},
		{"messages out", strconv.FormatUint(s.MessagesOut, 10), perSec(rout, count)},
		{"bytes in", formatBytes(int(s.BytesIn)), perSec(rbin, size)},
		{"bytes out", formatBytes(int(s.BytesOut)), perSec(rbout, size)},
		{"no receivers", strconv.FormatUint(s.NoReceivers, 10)},
		{"slow consumers", strconv.FormatUint(s.SlowConsumers, 10)},
		{"dropped", strconv.FormatUint(s.Dropped, 10)},
		{"failovers", strconv.FormatUint(s.Failovers, 10)},
		{"streams", strconv.FormatUint(s.Streams, 10)},
		{"stream messages", strconv.FormatUint(s.StreamMessages, 10), join(perSec(rstream, count), "stalls "+strconv.FormatUint(s.StreamStalls, 10))},
	}
	for _, r := range rows {
		if r[2] == "" {
			fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
		}
	}
	err := tw.Flush()
	if len(s.TopSubjects) > 0 && err == nil {
		// A table of its own: long subjects must not widen the one above.
		fmt.Fprintln(a.stdout, "\ntop subjects")
		tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		for _, sr := range s.TopSubjects {
			rate := "-"
			if sr.Rate != nil {
				rate = count(*sr.Rate) + "/s"
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", sr.Subject, sr.Total, rate)
		}
		err = tw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// join joins the non-empty strings with two spaces.
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "  " + b
}
