package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

func TestLabelFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string // key, value pairs
		wantErr string
	}{
		{name: "none", want: []string{}},
		{name: "one", args: []string{"type=camera"}, want: []string{"type", "camera"}},
		{name: "repeated", args: []string{"type=camera", "zone=a"}, want: []string{"type", "camera", "zone", "a"}},
		{name: "commas", args: []string{"type=camera,subnet=10.0.1.0/24"}, want: []string{"type", "camera", "subnet", "10.0.1.0/24"}},
		{name: "empty value", args: []string{"tier="}, want: []string{"tier", ""}},
		{name: "equals in value", args: []string{"expr=a=b"}, want: []string{"expr", "a=b"}},
		{name: "no equals", args: []string{"camera"}, wantErr: "not key=value"},
		{name: "empty key", args: []string{"=x"}, wantErr: "empty key"},
		{name: "space in key", args: []string{"a b=1"}, wantErr: "space"},
		{name: "duplicate", args: []string{"a=1", "a=2"}, wantErr: `label "a" given twice`},
		{name: "trailing comma", args: []string{"a=1,"}, wantErr: "not key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l labelFlag
			var err error
			for _, a := range tt.args {
				if err = l.Set(a); err != nil {
					break
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.pairs(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pairs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLocationFlag(t *testing.T) {
	tests := []struct {
		in       string
		lat, lon float64
		wantErr  string
	}{
		{in: "50.11,8.68", lat: 50.11, lon: 8.68},
		{in: "-33.9, 151.2", lat: -33.9, lon: 151.2},
		{in: "90,180", lat: 90, lon: 180},
		{in: "-90,-180", lat: -90, lon: -180},
		{in: "0,0"},
		{in: "91,0", wantErr: "latitude 91 is out of range [-90, 90]"},
		{in: "0,-180.5", wantErr: "longitude -180.5 is out of range [-180, 180]"},
		{in: "50.11", wantErr: "not LAT,LON"},
		{in: "north,8", wantErr: `latitude "north" is not a number`},
		{in: "1,NaN", wantErr: "longitude"},
		{in: "1,Inf", wantErr: "longitude"},
		{in: "1,2,3", wantErr: "longitude"},
	}
	for _, tt := range tests {
		var l locationFlag
		err := l.Set(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Set(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !l.set || l.lat != tt.lat || l.lon != tt.lon {
			t.Errorf("Set(%q) = %+v, %v; want %v,%v", tt.in, l, err, tt.lat, tt.lon)
		}
	}
}

func TestHeaderFlag(t *testing.T) {
	var h headerFlag
	for _, s := range []string{"a=1", "b=x,y", "a=2", "c="} {
		if err := h.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	want := ferry.Header{{Key: "a", Value: "1"}, {Key: "b", Value: "x,y"}, {Key: "a", Value: "2"}, {Key: "c", Value: ""}}
	if !reflect.DeepEqual(h.h, want) {
		t.Errorf("got %v, want %v", h.h, want)
	}
	if err := h.Set("novalue"); err == nil {
		t.Error("Set(novalue) succeeded")
	}
}

// TestClientFlags parses a full client command line and checks the server
// URL precedence: flag, then FERRY_SERVER, then the default.
func TestClientFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		wantURL string
	}{
		{name: "default", wantURL: ferry.DefaultURL},
		{name: "env", env: "ferry://env:1", wantURL: "ferry://env:1"},
		{name: "flag beats env", args: []string{"--server", "ferry://flag:2"}, env: "ferry://env:1", wantURL: "ferry://flag:2"},
		{name: "short flag", args: []string{"-s", "host:3"}, wantURL: "host:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			cf := addClientFlags(cmd)
			a := &app{lookupEnv: func(k string) (string, bool) {
				return tt.env, k == "FERRY_SERVER" && tt.env != ""
			}}
			args := append([]string{"--id", "ep-1", "--label", "type=camera", "--label", "zone=a",
				"--location", "50.11,8.68", "--region", "eu", "--connect-timeout", "1s"}, tt.args...)
			if err := cmd.ParseFlags(args); err != nil {
				t.Fatal(err)
			}
			if got := cf.url(a); got != tt.wantURL {
				t.Errorf("url = %q, want %q", got, tt.wantURL)
			}
			if cf.id != "ep-1" || cf.region != "eu" || cf.labels.String() != "type=camera,zone=a" ||
				cf.location.String() != "50.11,8.68" || cf.connectTimeout.String() != "1s" {
				t.Errorf("flags parsed as %+v", cf)
			}
			if n := len(cf.options(a)); n != 7 {
				t.Errorf("got %d options, want 7", n)
			}
		})
	}
}
