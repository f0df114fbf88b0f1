package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ferrymq/ferry"
)

func TestMulticastArgs(t *testing.T) {
	tests := []struct {
		name                 string
		where                bool
		args                 []string
		group, subject, data string
		wantErr              string
	}{
		{name: "group", args: []string{"channel.7", "video.frame", "f1"}, group: "channel.7", subject: "video.frame", data: "f1"},
		{name: "group and where", where: true, args: []string{"channel.7", "video.frame", "f1"}, group: "channel.7", subject: "video.frame", data: "f1"},
		{name: "where only", where: true, args: []string{"cmd.x", "hi"}, subject: "cmd.x", data: "hi"},
		{name: "where, empty data", where: true, args: []string{"cmd.x", ""}, subject: "cmd.x"},
		{name: "nothing", wantErr: "missing GROUP (or --where SELECTOR) SUBJECT DATA"},
		{name: "no group nor where", args: []string{"cmd.x", "hi"}, wantErr: "missing DATA; give GROUP SUBJECT DATA, or --where SELECTOR SUBJECT DATA"},
		{name: "group only", args: []string{"channel.7"}, wantErr: "missing SUBJECT DATA; give GROUP SUBJECT DATA, or --where SELECTOR SUBJECT DATA"},
		{name: "where, no args", where: true, wantErr: "missing SUBJECT DATA"},
		{name: "where, subject only", where: true, args: []string{"cmd.x"}, wantErr: "missing DATA"},
		{name: "too many", args: []string{"g", "s", "d", "x"}, wantErr: `unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group, subject, data, err := multicastArgs(tt.where, tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				var ue usageError
				if !errors.As(err, &ue) {
					t.Errorf("error %v is not a usage error", err)
				}
				return
			}
			if err != nil || group != tt.group || subject != tt.subject || data != tt.data {
				t.Errorf("got %q %q %q, %v; want %q %q %q", group, subject, data, err, tt.group, tt.subject, tt.data)
			}
		})
	}
}

func TestMulticastTarget(t *testing.T) {
	for _, tt := range []struct {
		group, where, want string
	}{
		{"channel.7", "", "multicast #channel.7"},
		{"channel.7", "region=eu", "multicast #channel.7[region=eu]"},
		{"", "subnet=10.0.1.0/24", "multicast[subnet=10.0.1.0/24]"},
	} {
		if got := multicastTarget(tt.group, tt.where).String(); got != tt.want {
			t.Errorf("multicastTarget(%q, %q) = %s, want %s", tt.group, tt.where, got, tt.want)
		}
	}
}

func TestPolicyFlag(t *testing.T) {
	var f policyFlag
	if f.String() != "round-robin" || f.set {
		t.Errorf("zero policyFlag = %s (set %v), want round-robin unset", f.String(), f.set)
	}
	for _, name := range []string{"round-robin", "nearest", "least-loaded", "random", "hash"} {
		if err := f.Set(name); err != nil || f.String() != name || !f.set {
			t.Errorf("Set(%q): %v, got %s", name, err, f.String())
		}
	}
	err := f.Set("closest")
	want := "unknown policy; want one of round-robin, nearest, least-loaded, random, hash"
	if err == nil || err.Error() != want {
		t.Errorf("Set(closest) error = %v, want %q", err, want)
	}
}

func TestAnycastTarget(t *testing.T) {
	near := locationFlag{set: true, lat: 48.8566, lon: 2.3522}
	tests := []struct {
		p            ferry.Policy
		group, where string
		near         locationFlag
		key          string
		want         string
	}{
		{p: ferry.RoundRobin, want: "anycast(round-robin)"},
		{p: ferry.Nearest, where: "type=edge", near: near, want: "anycast(nearest) near 48.8566,2.3522[type=edge]"},
		{p: ferry.LeastLoaded, group: "workers", want: "anycast(least-loaded) #workers"},
		{p: ferry.Hash, key: "user-42", want: "anycast(hash)"},
	}
	for _, tt := range tests {
		if got := anycastTarget(tt.p, tt.group, tt.where, tt.near, tt.key).String(); got != tt.want {
			t.Errorf("anycastTarget(%v, %q, %q) = %s, want %s", tt.p, tt.group, tt.where, got, tt.want)
		}
	}
}

func TestParseExplainTarget(t *testing.T) {
	near := locationFlag{set: true, lat: 1, lon: 2}
	tests := []struct {
		name    string
		target  string
		opts    explainOptions
		want    string // Target.String()
		wantErr string
	}{
		{name: "unicast", target: "@cam-7", want: "@cam-7"},
		{name: "broadcast", target: "broadcast", want: "broadcast"},
		{name: "broadcast where", target: "broadcast", opts: explainOptions{where: "type=camera"}, want: "broadcast[type=camera]"},
		{name: "group", target: "#channel.7", want: "multicast #channel.7"},
		{name: "group policy", target: "#workers", opts: explainOptions{policy: ferry.LeastLoaded, hasPolicy: true}, want: "anycast(least-loaded) #workers"},
		{name: "anycast default policy", target: "anycast", want: "anycast(round-robin)"},
		{name: "anycast nearest", target: "anycast", opts: explainOptions{where: "type=edge", policy: ferry.Nearest, hasPolicy: true, near: near},
			want: "anycast(nearest) near 1,2[type=edge]"},
		{name: "anycast hash key", target: "anycast", opts: explainOptions{policy: ferry.Hash, hasPolicy: true, key: "k", hasKey: true}, want: "anycast(hash)"},
		{name: "multicast where", target: "multicast", opts: explainOptions{where: "subnet=10.0.1.0/24"}, want: "multicast[subnet=10.0.1.0/24]"},
		{name: "multicast without where", target: "multicast", wantErr: "TARGET multicast needs --where SELECTOR"},
		{name: "empty id", target: "@", wantErr: `TARGET "@": missing the endpoint ID after '@'`},
		{name: "empty group", target: "#", wantErr: `TARGET "#": missing the group name after '#'`},
		{name: "unknown", target: "everyone", wantErr: `unknown TARGET "everyone": want @ID, broadcast, '#GROUP', anycast or multicast`},
		{name: "policy on broadcast", target: "broadcast", opts: explainOptions{policy: ferry.Random, hasPolicy: true}, wantErr: "--policy applies to anycast and '#GROUP', not to broadcast"},
		{name: "near on unicast", target: "@x", opts: explainOptions{near: near}, wantErr: "--near and --key apply to anycast only"},
		{name: "near without nearest", target: "anycast", opts: explainOptions{near: near}, wantErr: "--near needs --policy nearest (the policy is round-robin)"},
		{name: "key without hash", target: "anycast", opts: explainOptions{hasKey: true, policy: ferry.Random, hasPolicy: true}, wantErr: "--key needs --policy hash (the policy is random)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExplainTarget(tt.target, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				var ue usageError
				if !errors.As(err, &ue) {
					t.Errorf("error %v is not a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("target = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRoutingUsageErrors checks the command-line mistakes the routing
// commands catch before connecting: all exit with status 2.
func TestRoutingUsageErrors(t *testing.T) {
	noServer := []string{"--server", "ferry://127.0.0.1:1", "--connect-timeout", "100ms"}
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"multicast without group or where", []string{"multicast", "cmd.x", "hi"}, "missing DATA; give GROUP SUBJECT DATA, or --where SELECTOR SUBJECT DATA"},
		{"multicast nothing", []string{"multicast"}, "missing GROUP (or --where SELECTOR) SUBJECT DATA"},
		{"multicast empty where", []string{"multicast", "--where", "", "cmd.x", "hi"}, "--where is empty; to reach every endpoint use 'ferry broadcast'"},
		{"broadcast missing data", []string{"broadcast", "a.b"}, "missing DATA"},
		{"broadcast max-replies without request", []string{"broadcast", "--max-replies", "2", "a.b", "x"}, "--max-replies needs --request"},
		{"broadcast json without request", []string{"broadcast", "--json", "a.b", "x"}, "--json needs --request"},
		{"broadcast negative quiet", []string{"broadcast", "--request", "--quiet", "-1s", "a.b", "x"}, "--quiet must not be negative"},
		{"multicast quiet without request", []string{"multicast", "g", "a.b", "x", "--quiet", "1s"}, "--quiet needs --request"},
		{"anycast bad policy", []string{"anycast", "--policy", "closest", "a.b", "x"},
			`invalid argument "closest" for "-p, --policy" flag: unknown policy; want one of round-robin, nearest, least-loaded, random, hash`},
		{"anycast request and ack", []string{"anycast", "--request", "--ack", "a.b", "x"}, "give --request or --ack, not both"},
		{"anycast near without nearest", []string{"anycast", "--near", "1,2", "a.b", "x"}, "--near needs --policy nearest (the policy is round-robin)"},
		{"anycast bad near", []string{"anycast", "--policy", "nearest", "--near", "1", "a.b", "x"}, `"1" is not LAT,LON`},
		{"anycast key without hash", []string{"anycast", "--key", "k", "a.b", "x"}, "--key needs --policy hash"},
		{"anycast attempt-timeout alone", []string{"anycast", "--attempt-timeout", "1s", "a.b", "x"}, "--attempt-timeout needs --request or --ack"},
		{"anycast json without request", []string{"anycast", "--json", "a.b", "x"}, "--json needs --request"},
		{"join missing group", []string{"join"}, "missing GROUP"},
		{"join negative count", []string{"join", "g", "--count", "-2"}, "--count must not be negative"},
		{"groups extra", []string{"groups", "x"}, `unexpected argument "x"`},
		{"endpoints extra", []string{"endpoints", "x"}, `unexpected argument "x"`},
		{"route explain missing target", []string{"route", "explain"}, "missing TARGET\nRun 'ferry route explain --help' for usage."},
		{"route explain unknown target", []string{"route", "explain", "all"}, `unknown TARGET "all"`},
		{"route explain bad policy", []string{"route", "explain", "anycast", "--policy", "x"}, "want one of round-robin, nearest, least-loaded, random, hash"},
		{"route explain multicast", []string{"route", "explain", "multicast"}, "TARGET multicast needs --where SELECTOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runInProcess(t, "", append(tt.args, noServer...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantStderr)
			}
		})
	}
}

func TestRouteUnknownArgument(t *testing.T) {
	code, _, errOut := runInProcess(t, "", "route", "bogus")
	if code != exitUsage || !strings.Contains(errOut, `unexpected argument "bogus"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestRoutingHelp(t *testing.T) {
	code, out, _ := runInProcess(t, "", "help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	i := strings.Index(out, "Routing commands:")
	if i < 0 {
		t.Fatalf("help lacks the routing group:\n%s", out)
	}
	section := out[i:]
	if j := strings.Index(section, "\n\n"); j >= 0 {
		section = section[:j]
	}
	for _, name := range []string{"broadcast", "multicast", "anycast", "join", "groups", "endpoints", "route"} {
		if !strings.Contains(section, "\n  "+name+" ") {
			t.Errorf("routing group lacks %s:\n%s", name, section)
		}
	}
	code, out, _ = runInProcess(t, "", "route", "explain", "--help")
	if code != 0 || !strings.Contains(out, "ferry route explain anycast --where type=edge") {
		t.Errorf("route explain --help: exit %d, no example:\n%s", code, out)
	}
}

func TestFormatHelpers(t *testing.T) {
	for n, want := range map[int]string{0: "0B", 512: "512B", 1024: "1.0KiB", 1536: "1.5KiB", 3 << 20: "3.0MiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %s, want %s", n, got, want)
		}
	}
	if got := formatLabels(map[string]string{"zone": "a", "type": "edge", "tier": ""}); got != "tier=,type=edge,zone=a" {
		t.Errorf("formatLabels = %s", got)
	}
	if got := formatLocation(&ferry.Location{Lat: 50.1109, Lon: -8.5}); got != "50.1109,-8.5" {
		t.Errorf("formatLocation = %s", got)
	}
	if got := plural(1, "reply"); got != "1 reply" {
		t.Errorf("plural = %s", got)
	}
	g := &ferry.Gather{Replies: []*ferry.Msg{{}}, Reached: 3, Declined: 2, Complete: true}
	if got, want := gatherSummary(g), "1 reply, 2 declined, reached 3 (complete)"; got != want {
		t.Errorf("gatherSummary = %q, want %q", got, want)
	}
	g = &ferry.Gather{Reached: 2}
	if got, want := gatherSummary(g), "0 replies, 0 declined, reached 2 (incomplete)"; got != want {
		t.Errorf("gatherSummary = %q, want %q", got, want)
	}
	var b bytes.Buffer
	formatFrom(&b, &ferry.Msg{From: "cam-7", Data: []byte("B is at 10.0.0.7")})
	if b.String() != "cam-7: B is at 10.0.0.7" {
		t.Errorf("formatFrom = %q", b.String())
	}
}

func TestWriteTables(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out}
	eps := []ferry.EndpointInfo{
		{ID: "edge-fra", Region: "eu", Labels: map[string]string{"type": "edge"}, Location: &ferry.Location{Lat: 50.1109, Lon: 8.6821},
			Subscriptions: 2, PendingMsgs: 1, PendingBytes: 2048},
		{ID: "tv-1", Name: "living\troom", Groups: []string{"channel.7", "news"}},
	}
	if err := writeEndpointsTable(a, eps); err != nil {
		t.Fatal(err)
	}
	want := `ID        NAME         REGION  LOCATION        LABELS     GROUPS          SUBS  PENDING
edge-fra  -            eu      50.1109,8.6821  type=edge  -               2     1/2.0KiB
tv-1      living room  -       -               -          channel.7,news  0     0/0B
`
	if out.String() != want {
		t.Errorf("endpoints table:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	if err := writeGroupsTable(a, []ferry.GroupInfo{{Name: "channel.7", Members: []string{"tv-1", "tv-2"}}, {Name: "empty"}}); err != nil {
		t.Fatal(err)
	}
	want = `NAME       MEMBERS  MEMBER IDS
channel.7  2        tv-1,tv-2
empty      0        -
`
	if out.String() != want {
		t.Errorf("groups table:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	d1, d2 := 262.4, 10725.0
	ex := &ferry.Explanation{
		Mode: "anycast", Subject: "content.get", Policy: "nearest", Where: "type=edge",
		Origin: &ferry.Location{Lat: 48.8566, Lon: 2.3522},
		Candidates: []ferry.Candidate{
			{ID: "edge-fra", Region: "eu", Matched: true, Subscribed: true, DistanceKm: &d1, RegionMatch: true, Rank: 1},
			{ID: "edge-sin", Matched: true, Subscribed: true, DistanceKm: &d2, PendingMsgs: 2, PendingBytes: 10, Rank: 2},
			{ID: "web-1", Matched: false, Subscribed: true},
		},
		Chosen: []string{"edge-fra"},
		Reason: "nearest: edge-fra is 262 km away",
	}
	if err := writeExplanation(a, ex); err != nil {
		t.Fatal(err)
	}
	want = `anycast of content.get, policy nearest, where type=edge, origin 48.8566,2.3522
ID        MATCHED  SUBSCRIBED  DISTANCE  REGION     LOAD   RANK
edge-fra  yes      yes         262 km    eu (same)  0/0B   1
edge-sin  yes      yes         10725 km  -          2/10B  2
web-1     no       yes         -         -          0/0B   -
chosen: edge-fra
reason: nearest: edge-fra is 262 km away
`
	if out.String() != want {
		t.Errorf("explanation:\n%s\nwant:\n%s", out.String(), want)
	}
}
