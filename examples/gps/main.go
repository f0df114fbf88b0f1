package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/examples/internal/embedded"
)

func main() { embedded.Main("gps", run) }

// dashboards is how many dashboard endpoints watch the track.
const dashboards = 2

// run is the whole example: the flags are in args, the report goes to out.
// It returns an error when a dashboard missed or reordered a fix.
func run(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("gps", flag.ContinueOnError)
	fs.SetOutput(out)
	serverURL := fs.String("server", "", "broker URL, e.g. ferry://127.0.0.1:7420 (default: start an embedded broker)")
	trackFile := fs.String("track", "", `read the track from this file, one "lat,lon" per line (default: a route from Berlin to Potsdam)`)
	device := fs.String("device", "phone1", "the tracker's name; it streams on subject gps.DEVICE")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	track := berlinPotsdam(50)
	if *trackFile != "" {
		var err error
		if track, err = loadTrack(*trackFile); err != nil {
			return err
		}
	}
	url := *serverURL
	if url == "" {
		srv, stop, err := embedded.Start("gps")
		if err != nil {
			return err
		}
		defer stop()
		url = srv.URL()
		fmt.Fprintf(out, "broker: embedded at %s\n", url)
	}

	subject := "gps." + *device
	trackerID := "tracker-" + *device
	var ds []*dashboard
	for i := range dashboards {
		d, err := startDashboard(ctx, url, fmt.Sprintf("dashboard-%d", i+1), trackerID, subject)
		if err != nil {
			return err
		}
		defer d.nc.Close()
		ds = append(ds, d)
	}

	if err := streamTrack(ctx, out, url, trackerID, subject, track); err != nil {
		return err
	}
	for _, d := range ds {
		select {
		case <-d.done:
		case <-ctx.Done():
			return fmt.Errorf("%s did not see the end of the track: %w", d.id, ctx.Err())
		}
	}
	failed := 0
	for _, d := range ds {
		if !d.report(out, track) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dashboards missed or reordered fixes", failed, len(ds))
	}
	fmt.Fprintf(out, "ok: every dashboard received all %d fixes in order\n", len(track))
	return nil
}

// streamTrack connects as the tracker and streams the fixes to every
// endpoint accepting streams on subject, as one stream.
func streamTrack(ctx context.Context, out io.Writer, url, id, subject string, track []string) error {
	nc, err := ferry.Connect(url, ferry.WithID(id))
	if err != nil {
		return fmt.Errorf("tracker: %w", err)
	}
	defer nc.Close()
	s, err := nc.OpenStream(ctx, subject, ferry.Target{}, ferry.WithStreamHeader("unit", "degrees"))
	if err != nil {
		return fmt.Errorf("tracker: open stream on %s: %w", subject, err)
	}
	fmt.Fprintf(out, "tracker: streaming %d fixes (%.1f km) on %s to %d receivers\n",
		len(track), trackLength(track), subject, s.Receivers())
	for _, fix := range track {
		// Send blocks while the slowest dashboard's window is full: the
		// tracker can never outrun a dashboard, and nothing is dropped.
		if err := s.Send(ctx, []byte(fix)); err != nil {
			_ = s.Abort("tracker failed")
			return fmt.Errorf("tracker: send: %w", err)
		}
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("tracker: close the stream: %w", err)
	}
	return nc.Flush(ctx)
}

// dashboard is an endpoint that accepts the tracker's stream and records
// what arrives.
type dashboard struct {
	id, tracker, subject string
	nc                   *ferry.Conn
	done                 chan struct{} // closed when the tracker's stream ended

	mu    sync.Mutex // guards fixes, seqs, err
	fixes []string
	seqs  []uint64
	err   error // why the stream ended early
}

func startDashboard(ctx context.Context, url, id, tracker, subject string) (*dashboard, error) {
	nc, err := ferry.Connect(url, ferry.WithID(id))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	d := &dashboard{id: id, tracker: tracker, subject: subject, nc: nc, done: make(chan struct{})}
	var once sync.Once
	_, err = nc.HandleStreams("gps.>", func(in *ferry.IncomingStream) {
		if in.From() != tracker || in.Subject() != subject {
			_ = in.Close() // another tracker on a shared broker: not ours
			return
		}
		err := d.receive(ctx, in)
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		once.Do(func() { close(d.done) })
	})
	if err == nil {
		err = nc.Flush(ctx) // the broker has the subscription before the tracker starts
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: accept streams: %w", id, err)
	}
	return d, nil
}

// receive records the fixes of one stream until it ends; it returns nil at
// the stream's clean end.
func (d *dashboard) receive(ctx context.Context, in *ferry.IncomingStream) error {
	for {
		m, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.fixes = append(d.fixes, string(m.Data))
		d.seqs = append(d.seqs, uint64(m.Seq))
		d.mu.Unlock()
	}
}

// report prints what the dashboard received and reports whether it is the
// whole track, in order.
func (d *dashboard) report(out io.Writer, track []string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.fixes) == 0 {
		fmt.Fprintf(out, "%s: no fixes (%v)\n", d.id, d.err)
		return false
	}
	fmt.Fprintf(out, "%s: %d fixes from %s on %s, first %s, last %s, ", d.id, len(d.fixes),
		d.tracker, d.subject, d.fixes[0], d.fixes[len(d.fixes)-1])
	problem := checkOrder(track, d.fixes, d.seqs)
	if problem == "" && d.err != nil {
		problem = "stream ended early: " + d.err.Error()
	}
	if problem != "" {
		fmt.Fprintf(out, "%s\n", problem)
		return false
	}
	fmt.Fprintf(out, "in order\n")
	return true
}

// checkOrder compares what a dashboard received with the track sent: the
// n-th message must have seq n and the n-th fix. It returns "" when they
// match, or the first difference.
func checkOrder(track, got []string, seqs []uint64) string {
	for i := range got {
		switch {
		case i >= len(track):
			return fmt.Sprintf("received %d fixes, sent %d", len(got), len(track))
		case seqs[i] != uint64(i+1):
			return fmt.Sprintf("OUT OF ORDER: message %d has seq %d", i+1, seqs[i])
		case got[i] != track[i]:
			return fmt.Sprintf("OUT OF ORDER: fix %d is %s, sent %s", i+1, got[i], track[i])
		}
	}
	if len(got) < len(track) {
		return fmt.Sprintf("MISSED %d of %d fixes", len(track)-len(got), len(track))
	}
	return ""
}

// A point is a position in degrees.
type point struct{ lat, lon float64 }

func (p point) String() string {
	return strconv.FormatFloat(p.lat, 'f', 5, 64) + "," + strconv.FormatFloat(p.lon, 'f', 5, 64)
}

// parsePoint parses "lat,lon".
func parsePoint(s string) (point, error) {
	latS, lonS, ok := strings.Cut(s, ",")
	if !ok {
		return point{}, fmt.Errorf("%q is not lat,lon", s)
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(latS), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lonS), 64)
	switch {
	case err1 != nil || err2 != nil:
		return point{}, fmt.Errorf("%q is not lat,lon in degrees", s)
	case math.Abs(lat) > 90 || math.Abs(lon) > 180:
		return point{}, fmt.Errorf("%q is out of range", s)
	}
	return point{lat, lon}, nil
}

// loadTrack reads a track file: one "lat,lon" per line; blank lines and
// lines starting with '#' are skipped.
func loadTrack(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var track []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if _, err := parsePoint(line); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		track = append(track, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(track) == 0 {
		return nil, fmt.Errorf("%s: no fixes", name)
	}
	return track, nil
}

// route is a drive from Alexanderplatz in Berlin to Potsdam main station.
var route = []point{
	{52.52190, 13.41320}, // Alexanderplatz
	{52.51630, 13.37770}, // Brandenburger Tor
	{52.51280, 13.32190}, // Ernst-Reuter-Platz
	{52.50500, 13.27800}, // Funkturm
	{52.47000, 13.24000}, // AVUS
	{52.42130, 13.17880}, // Wannsee
	{52.41350, 13.09050}, // Glienicker Brücke
	{52.39180, 13.06690}, // Potsdam Hauptbahnhof
}

// berlinPotsdam returns n fixes (n >= 2) evenly spaced along the route.
func berlinPotsdam(n int) []string {
	cum := []float64{0}
	for i := 1; i < len(route); i++ {
		cum = append(cum, cum[i-1]+distanceKm(route[i-1], route[i]))
	}
	total := cum[len(cum)-1]
	track := make([]string, n)
	seg := 1
	for i := range n {
		d := total * float64(i) / float64(n-1)
		for seg < len(route)-1 && cum[seg] < d {
			seg++
		}
		a, b := route[seg-1], route[seg]
		f := (d - cum[seg-1]) / (cum[seg] - cum[seg-1])
		track[i] = point{a.lat + f*(b.lat-a.lat), a.lon + f*(b.lon-a.lon)}.String()
	}
	return track
}

// trackLength is the length of the track in km.
func trackLength(track []string) float64 {
	km := 0.0
	for i := 1; i < len(track); i++ {
		a, _ := parsePoint(track[i-1])
		b, _ := parsePoint(track[i])
		km += distanceKm(a, b)
	}
	return km
}

// distanceKm is the great-circle distance between a and b.
func distanceKm(a, b point) float64 {
	const earthRadiusKm = 6371.0
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	dLat, dLon := rad(b.lat-a.lat), rad(b.lon-a.lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(rad(a.lat))*math.Cos(rad(b.lat))*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}
