package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
)

// runGPS runs the example with args and returns its output.
func runGPS(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	begin := time.Now()
	err := run(ctx, &out, args)
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("run took %s, want under 5s", d)
	}
	return out.String(), err
}

func TestRunAgainstServer(t *testing.T) {
	srv := ferrytest.New(t)
	out, err := runGPS(t, "-server", srv.URL())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	track := berlinPotsdam(50)
	for _, want := range []string{
		"tracker: streaming 50 fixes (",
		" on gps.phone1 to 2 receivers\n",
		"dashboard-1: 50 fixes from tracker-phone1 on gps.phone1, first " + track[0] + ", last " + track[49] + ", in order\n",
		"dashboard-2: 50 fixes from tracker-phone1 on gps.phone1, first " + track[0] + ", last " + track[49] + ", in order\n",
		"ok: every dashboard received all 50 fixes in order\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "broker: embedded") {
		t.Errorf("started an embedded broker despite -server:\n%s", out)
	}
}

func TestRunEmbeddedWithTrackFile(t *testing.T) {
	out, err := runGPS(t, "-track", "track.txt", "-device", "walker")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"broker: embedded at ferry://127.0.0.1:",
		"tracker: streaming 29 fixes (",
		"dashboard-1: 29 fixes from tracker-walker on gps.walker, first 52.39950,13.05150, last 52.39950,13.05150, in order\n",
		"ok: every dashboard received all 29 fixes in order\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRunErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("52.5,13.4\n# comment\n\nnorth,east\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-track", bad}, "bad.txt:4: \"north,east\" is not lat,lon in degrees"},
		{[]string{"-track", filepath.Join(t.TempDir(), "none.txt")}, "no such file"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-bogus"}, "flag provided but not defined"},
	} {
		out, err := runGPS(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q: error %v, want %q\n%s", tt.args, err, tt.want, out)
		}
	}
}

func TestBerlinPotsdam(t *testing.T) {
	track := berlinPotsdam(50)
	if len(track) != 50 {
		t.Fatalf("%d fixes, want 50", len(track))
	}
	if track[0] != route[0].String() || track[49] != route[len(route)-1].String() {
		t.Errorf("track runs %s → %s, want %s → %s", track[0], track[49], route[0], route[len(route)-1])
	}
	// Evenly spaced: every step is about the same length.
	step := trackLength(track) / 49
	for i := 1; i < len(track); i++ {
		a, _ := parsePoint(track[i-1])
		b, _ := parsePoint(track[i])
		if d := distanceKm(a, b); d > step*1.05 {
			t.Errorf("step %d is %.3f km, average %.3f km", i, d, step)
		}
	}
	if km := trackLength(track); km < 25 || km > 40 {
		t.Errorf("Berlin → Potsdam is %.1f km along the track", km)
	}
}

func TestCheckOrder(t *testing.T) {
	track := []string{"1,1", "2,2", "3,3"}
	for _, tt := range []struct {
		name string
		got  []string
		seqs []uint64
		want string
	}{
		{"all in order", []string{"1,1", "2,2", "3,3"}, []uint64{1, 2, 3}, ""},
		{"missed the end", []string{"1,1", "2,2"}, []uint64{1, 2}, "MISSED 1 of 3 fixes"},
		{"swapped", []string{"1,1", "3,3", "2,2"}, []uint64{1, 2, 3}, "OUT OF ORDER: fix 2 is 3,3, sent 2,2"},
		{"seq gap", []string{"1,1", "2,2"}, []uint64{1, 3}, "OUT OF ORDER: message 2 has seq 3"},
		{"too many", []string{"1,1", "2,2", "3,3", "4,4"}, []uint64{1, 2, 3, 4}, "received 4 fixes, sent 3"},
	} {
		if got := checkOrder(track, tt.got, tt.seqs); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
