package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

const defaultServerURL = ferry.DefaultURL

// clientFlags are the flags every client command shares: where to connect
// and who this endpoint is.
type clientFlags struct {
	server         string
	id, name       string
	region         string
	labels         labelFlag
	location       locationFlag
	connectTimeout time.Duration

	cmd *cobra.Command // to tell flags given from defaults
}

// addClientFlags registers the shared client flags on cmd.
func addClientFlags(cmd *cobra.Command) *clientFlags {
	cf := &clientFlags{cmd: cmd}
	f := cmd.Flags()
	f.StringVarP(&cf.server, "server", "s", defaultServerURL, "broker URL (env FERRY_SERVER)")
	f.StringVar(&cf.id, "id", "", "endpoint ID, its unicast address (default: assigned by the server)")
	f.StringVar(&cf.name, "name", "", "client name shown by the broker")
	f.StringVar(&cf.region, "region", "", "endpoint region, e.g. eu-central")
	f.Var(&cf.labels, "label", "endpoint label key=value; repeat or join with commas: type=camera,zone=a")
	f.Var(&cf.location, "location", "endpoint location LAT,LON in degrees, e.g. 50.11,8.68")
	f.DurationVar(&cf.connectTimeout, "connect-timeout", 5*time.Second, "bound on dialing and the handshake")
	return cf
}

// url returns the broker URL: the --server flag, else FERRY_SERVER, else
// the default.
func (cf *clientFlags) url(a *app) string {
	if cf.cmd.Flags().Changed("server") {
		return cf.server
	}
	if v, ok := a.lookupEnv("FERRY_SERVER"); ok && v != "" {
		return v
	}
	return cf.server
}

// options turns the flags into connection options.
func (cf *clientFlags) options(a *app) []ferry.Option {
	opts := []ferry.Option{
		ferry.WithTimeout(cf.connectTimeout),
		ferry.WithErrorHandler(func(err error) {
			fmt.Fprintf(a.stderr, "ferry: %s\n", errorText(err))
		}),
		ferry.WithStateHandler(func(s ferry.State) {
			if s == ferry.StateReconnected { // losses come through the error handler
				fmt.Fprintf(a.stderr, "ferry: %s\n", s)
			}
		}),
	}
	if cf.id != "" {
		opts = append(opts, ferry.WithID(cf.id))
	}
	if cf.name != "" {
		opts = append(opts, ferry.WithName(cf.name))
	}
	if cf.region != "" {
		opts = append(opts, ferry.WithRegion(cf.region))
	}
	if len(cf.labels.keys) > 0 {
		opts = append(opts, ferry.WithLabels(cf.labels.pairs()...))
	}
	if cf.location.set {
		opts = append(opts, ferry.WithLocation(cf.location.lat, cf.location.lon))
	}
	return opts
}

// connect dials the broker.
func (cf *clientFlags) connect(a *app) (*ferry.Conn, error) {
	url := cf.url(a)
	nc, err := ferry.Connect(url, cf.options(a)...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", url, err)
	}
	return nc, nil
}

// labelFlag collects endpoint labels from repeated --label k=v flags, in
// the order given. A key may be given once.
type labelFlag struct {
	keys   []string
	values map[string]string
}

func (l *labelFlag) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		k, v, err := splitKeyValue(kv)
		if err != nil {
			return err
		}
		if _, dup := l.values[k]; dup {
			return fmt.Errorf("label %q given twice", k)
		}
		if l.values == nil {
			l.values = map[string]string{}
		}
		l.keys = append(l.keys, k)
		l.values[k] = v
	}
	return nil
}

func (l *labelFlag) String() string {
	parts := make([]string, len(l.keys))
	for i, k := range l.keys {
		parts[i] = k + "=" + l.values[k]
	}
	return strings.Join(parts, ",")
}

func (l *labelFlag) Type() string { return "key=value" }

// pairs returns the labels as key, value, key, value… for ferry.WithLabels.
func (l *labelFlag) pairs() []string {
	kv := make([]string, 0, 2*len(l.keys))
	for _, k := range l.keys {
		kv = append(kv, k, l.values[k])
	}
	return kv
}

// headerFlag collects message headers from repeated --header k=v flags, in
// order; keys may repeat. Values may contain commas and '='.
type headerFlag struct{ h ferry.Header }

func (hf *headerFlag) Set(s string) error {
	k, v, err := splitKeyValue(s)
	if err != nil {
		return err
	}
	hf.h.Add(k, v)
	return nil
}

func (hf *headerFlag) String() string {
	parts := make([]string, len(hf.h))
	for i, f := range hf.h {
		parts[i] = f.Key + "=" + f.Value
	}
	return strings.Join(parts, " ")
}

func (hf *headerFlag) Type() string { return "key=value" }

// splitKeyValue splits "k=v" at the first '='; the key must not be empty
// nor contain spaces.
func splitKeyValue(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	switch {
	case !ok:
		return "", "", fmt.Errorf("%q is not key=value", s)
	case k == "":
		return "", "", fmt.Errorf("%q has an empty key", s)
	case strings.ContainsAny(k, " \t"):
		return "", "", fmt.Errorf("key %q contains a space", k)
	}
	return k, v, nil
}

// locationFlag is a point given as "LAT,LON" in degrees.
type locationFlag struct {
	set      bool
	lat, lon float64
}

func (l *locationFlag) Set(s string) error {
	latS, lonS, ok := strings.Cut(s, ",")
	if !ok {
		return fmt.Errorf("%q is not LAT,LON (e.g. 50.11,8.68)", s)
	}
	lat, err := parseDegrees("latitude", latS, 90)
	if err != nil {
		return err
	}
	lon, err := parseDegrees("longitude", lonS, 180)
	if err != nil {
		return err
	}
	l.set, l.lat, l.lon = true, lat, lon
	return nil
}

func (l *locationFlag) String() string {
	if !l.set {
		return ""
	}
	return strconv.FormatFloat(l.lat, 'f', -1, 64) + "," + strconv.FormatFloat(l.lon, 'f', -1, 64)
}

func (l *locationFlag) Type() string { return "lat,lon" }

// parseDegrees parses an angle in [-limit, limit].
func parseDegrees(what, s string, limit float64) (float64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s %q is not a number", what, s)
	}
	if v < -limit || v > limit {
		return 0, fmt.Errorf("%s %s is out of range [-%g, %g]", what, s, limit, limit)
	}
	return v, nil
}

// checkCount rejects a negative --count.
func checkCount(n int) error {
	if n < 0 {
		return usageErrorf("--count must not be negative, got %d", n)
	}
	return nil
}
