package main

// End-to-end tests of the routing commands: broadcast, multicast, anycast,
// join, groups, endpoints, route explain and reply --match.

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
)

func TestE2EMulticastGroup(t *testing.T) {
	srv := ferrytest.New(t)
	members := []string{"tv-1", "tv-2", "tv-3"}
	var joins []*proc
	for _, id := range members {
		joins = append(joins, start(t, srv.URL(), "", "join", "channel.7", "--id", id, "--count", "1"))
	}
	var listens []*proc
	for _, id := range []string{"lis-1", "lis-2"} {
		listens = append(listens, start(t, srv.URL(), "", "listen", "--id", id))
	}
	for i, j := range joins {
		j.waitStderr("ferry: joined channel.7, listening on > as " + members[i])
	}
	for _, l := range listens {
		l.waitStderr("ferry: listening on > as lis-")
	}

	code, stdout, stderr := runFerry(t, srv.URL(), "", "groups")
	expect(t, "groups", code, 0, stderr, "")
	if want := "channel.7  3        tv-1,tv-2,tv-3\n"; !strings.Contains(stdout, want) {
		t.Errorf("groups printed:\n%s\nwant a line %q", stdout, want)
	}
	code, stdout, stderr = runFerry(t, srv.URL(), "", "groups", "--json")
	expect(t, "groups --json", code, 0, stderr, "")
	var groups []jsonGroup
	if err := json.Unmarshal([]byte(stdout), &groups); err != nil {
		t.Fatalf("groups --json: %v\n%s", err, stdout)
	}
	if len(groups) != 1 || groups[0].Name != "channel.7" || !slices.Equal(groups[0].Members, []string{"tv-1", "tv-2", "tv-3"}) {
		t.Errorf("groups --json = %+v", groups)
	}

	code, _, stderr = runFerry(t, srv.URL(), "", "multicast", "--id", "head-end", "channel.7", "video.frame", "f1")
	expect(t, "multicast", code, 0, stderr, "reached 3 endpoints\n")
	for i, j := range joins {
		if code := j.wait(); code != 0 {
			t.Errorf("join %d exit %d; stderr: %s", i, code, j.stderr)
		}
		if got, want := j.stdout.String(), "multicast from head-end video.frame: f1\n"; got != want {
			t.Errorf("join %d printed %q, want %q", i, got, want)
		}
	}
	for i, l := range listens {
		l.signal(syscall.SIGINT)
		if code := l.wait(); code != 0 {
			t.Errorf("listen %d exit %d after SIGINT", i, code)
		}
		if got := l.stdout.String(); got != "" {
			t.Errorf("listen %d (not a member) printed %q", i, got)
		}
	}

	// The members left: nobody is reached now, which is not an error.
	code, _, stderr = runFerry(t, srv.URL(), "", "multicast", "channel.7", "video.frame", "f2")
	expect(t, "multicast to an empty group", code, 0, stderr, "reached 0 endpoints\n")
}

func TestE2EJoinInterrupt(t *testing.T) {
	srv := ferrytest.New(t)
	j := start(t, srv.URL(), "", "join", "news", "headlines.>", "--id", "reader", "--json")
	j.waitStderr("ferry: joined news, listening on headlines.> as reader")
	code, _, stderr := runFerry(t, srv.URL(), "", "multicast", "news", "headlines.eu", "rain")
	expect(t, "multicast", code, 0, stderr, "reached 1 endpoint\n")
	lines := j.waitLines(1)
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("join --json line %q: %v", lines[0], err)
	}
	if m["mode"] != "multicast" || m["subject"] != "headlines.eu" || m["payload"] != "rain" {
		t.Errorf("join --json printed %v", m)
	}
	j.signal(syscall.SIGINT)
	if code := j.wait(); code != 0 {
		t.Errorf("join exit %d after SIGINT, want 0; stderr: %s", code, j.stderr)
	}
}

func TestE2EMulticastWhere(t *testing.T) {
	srv := ferrytest.New(t)
	in := start(t, srv.URL(), "", "listen", "--id", "cam-5", "--label", "type=camera,ip=10.0.1.5", "--count", "1")
	out := start(t, srv.URL(), "", "listen", "--id", "cam-6", "--label", "type=camera,ip=10.0.2.5")
	in.waitStderr("ferry: listening on > as cam-5")
	out.waitStderr("ferry: listening on > as cam-6")
	code, _, stderr := runFerry(t, srv.URL(), "", "multicast", "--id", "ops", "--where", "subnet=10.0.1.0/24", "cmd.x", "hi")
	expect(t, "multicast --where", code, 0, stderr, "reached 1 endpoint\n")
	if code := in.wait(); code != 0 {
		t.Errorf("listen in the subnet exit %d", code)
	}
	if got, want := in.stdout.String(), "multicast from ops cmd.x: hi\n"; got != want {
		t.Errorf("listen in the subnet printed %q, want %q", got, want)
	}
	out.signal(syscall.SIGINT)
	if code := out.wait(); code != 0 {
		t.Errorf("listen outside exit %d", code)
	}
	if got := out.stdout.String(); got != "" {
		t.Errorf("listen outside the subnet printed %q", got)
	}
}

func TestE2EBroadcast(t *testing.T) {
	srv := ferrytest.New(t)
	ls := []*proc{
		start(t, srv.URL(), "", "listen", "--id", "a", "--count", "1"),
		start(t, srv.URL(), "", "listen", "--id", "b", "--count", "1"),
	}
	for _, l := range ls {
		l.waitStderr("ferry: listening on > as ")
	}
	code, _, stderr := runFerry(t, srv.URL(), "", "broadcast", "--id", "hq", "config.reload", "now")
	expect(t, "broadcast", code, 0, stderr, "reached 2 endpoints\n")
	for _, l := range ls {
		if code := l.wait(); code != 0 {
			t.Errorf("listen exit %d", code)
		}
		if got, want := l.stdout.String(), "broadcast from hq config.reload: now\n"; got != want {
			t.Errorf("listen printed %q, want %q", got, want)
		}
	}
	code, _, stderr = runFerry(t, srv.URL(), "", "broadcast", "nobody.listens", "x")
	expect(t, "broadcast to nobody", code, 0, stderr, "reached 0 endpoints\n")
	code, stdout, stderr := runFerry(t, srv.URL(), "", "broadcast", "nobody.listens", "x", "--request")
	expect(t, "broadcast --request to nobody", code, 1, stderr, "ferry: no responders for nobody.listens")
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
}

// TestE2EBroadcastARP is the ARP case: everybody is asked, only the owner
// of the address answers, the others decline, so the gather completes at
// once instead of waiting for the timeout.
func TestE2EBroadcastARP(t *testing.T) {
	srv := ferrytest.New(t)
	hosts := []struct{ id, ip string }{{"host-b", "10.0.0.7"}, {"host-c", "10.0.0.8"}, {"host-d", "10.0.0.9"}}
	var reps []*proc
	for _, h := range hosts {
		reps = append(reps, start(t, srv.URL(), "", "reply", "arp.who-has", h.id+" is at "+h.ip,
			"--match", h.ip, "--id", h.id, "--label", "ip="+h.ip))
	}
	for i, r := range reps {
		r.waitStderr("ferry: replying on arp.who-has as " + hosts[i].id)
	}
	begin := time.Now()
	code, stdout, stderr := runFerry(t, srv.URL(), "", "broadcast", "arp.who-has", "10.0.0.7", "--request", "--timeout", "5s")
	took := time.Since(begin)
	expect(t, "broadcast --request", code, 0, stderr, "1 reply, 2 declined, reached 3 (complete)\n")
	if stdout != "host-b: host-b is at 10.0.0.7\n" {
		t.Errorf("broadcast printed %q, want the one answer from host-b", stdout)
	}
	if took > 2*time.Second {
		t.Errorf("took %s; declines should complete the gather long before the 5s timeout", took)
	}
	if got := reps[0].stdout.String(); got != "10.0.0.7\n" {
		t.Errorf("the owner printed %q, want the request it answered", got)
	}
	for _, r := range reps[1:] {
		if got := r.stdout.String(); got != "" {
			t.Errorf("a declining responder printed %q", got)
		}
	}

	// JSON lines carry the sender.
	code, stdout, stderr = runFerry(t, srv.URL(), "", "broadcast", "arp.who-has", "10.0.0.9", "--request", "--json")
	expect(t, "broadcast --request --json", code, 0, stderr, "1 reply, 2 declined, reached 3 (complete)\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	if m["from"] != "host-d" || m["payload"] != "host-d is at 10.0.0.9" {
		t.Errorf("--json reply = %v", m)
	}

	// Nobody has the address: everybody declines at once.
	code, _, stderr = runFerry(t, srv.URL(), "", "broadcast", "arp.who-has", "10.0.0.1", "--request", "--timeout", "5s")
	expect(t, "broadcast --request, all decline", code, 1, stderr, "0 replies, 3 declined, reached 3 (complete)\nferry: no replies: every receiver declined\n")
}

// TestE2EAnycastNearest covers anycast by policy, endpoints and route
// explain against the same two edge servers.
func TestE2EAnycastNearest(t *testing.T) {
	srv := ferrytest.New(t)
	fra := start(t, srv.URL(), "", "reply", "content.get", "--echo", "--id", "edge-fra", "--location", "50.1109,8.6821", "--label", "type=edge", "--region", "eu")
	sin := start(t, srv.URL(), "", "reply", "content.get", "--echo", "--id", "edge-sin", "--location", "1.3521,103.8198", "--label", "type=edge", "--region", "ap")
	other := start(t, srv.URL(), "", "listen", "--id", "origin-1", "--label", "type=origin")
	fra.waitStderr("ferry: replying on content.get as edge-fra")
	sin.waitStderr("ferry: replying on content.get as edge-sin")
	other.waitStderr("ferry: listening on > as origin-1")

	code, stdout, stderr := runFerry(t, srv.URL(), "", "anycast", "content.get", "hi", "--request", "--policy", "nearest",
		"--location", "48.8566,2.3522", "--where", "type=edge")
	expect(t, "anycast --request nearest from Paris", code, 0, stderr, "answered by edge-fra\n")
	if stdout != "hi\n" {
		t.Errorf("anycast printed %q, want the echo", stdout)
	}
	code, _, stderr = runFerry(t, srv.URL(), "", "anycast", "content.get", "hi", "--request", "--policy", "nearest",
		"--near", "13.75,100.5", "--where", "type=edge")
	expect(t, "anycast --request nearest to Bangkok", code, 0, stderr, "answered by edge-sin\n")
	code, _, stderr = runFerry(t, srv.URL(), "", "anycast", "content.get", "hi", "--where", "type=edge")
	expect(t, "anycast", code, 0, stderr, "delivered to 1 endpoint\n")
	code, _, stderr = runFerry(t, srv.URL(), "", "anycast", "content.get", "hi", "--where", "type=cache", "--request")
	expect(t, "anycast to nobody", code, 1, stderr, "ferry: no responders for content.get")

	code, stdout, stderr = runFerry(t, srv.URL(), "", "endpoints", "--where", "type=edge", "--json")
	expect(t, "endpoints --json", code, 0, stderr, "")
	var eps []jsonEndpoint
	if err := json.Unmarshal([]byte(stdout), &eps); err != nil {
		t.Fatalf("endpoints --json: %v\n%s", err, stdout)
	}
	var ids []string
	for _, e := range eps {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, []string{"edge-fra", "edge-sin"}) {
		t.Errorf("endpoints --where type=edge listed %q", ids)
	}
	if len(eps) == 2 && (eps[0].Region != "eu" || eps[0].Location == nil || eps[0].Location.Lat != 50.1109 || eps[0].Labels["type"] != "edge") {
		t.Errorf("edge-fra = %+v", eps[0])
	}
	code, stdout, stderr = runFerry(t, srv.URL(), "", "endpoints")
	expect(t, "endpoints", code, 0, stderr, "")
	if !strings.HasPrefix(stdout, "ID ") || !strings.Contains(stdout, "origin-1 ") || !strings.Contains(stdout, "50.1109,8.6821") {
		t.Errorf("endpoints table:\n%s", stdout)
	}

	code, stdout, stderr = runFerry(t, srv.URL(), "", "route", "explain", "anycast", "--where", "type=edge", "--policy", "nearest",
		"--near", "48.8566,2.3522", "--subject", "content.get")
	expect(t, "route explain", code, 0, stderr, "")
	if !strings.Contains(stdout, "\nchosen: edge-fra\n") || !strings.Contains(stdout, "edge-sin") || !strings.Contains(stdout, " km ") {
		t.Errorf("route explain printed:\n%s", stdout)
	}
	code, stdout, stderr = runFerry(t, srv.URL(), "", "route", "explain", "anycast", "--where", "type=edge", "--policy", "nearest",
		"--near", "48.8566,2.3522", "--subject", "content.get", "--json")
	expect(t, "route explain --json", code, 0, stderr, "")
	var ex jsonExplanation
	if err := json.Unmarshal([]byte(stdout), &ex); err != nil {
		t.Fatalf("route explain --json: %v\n%s", err, stdout)
	}
	if !slices.Equal(ex.Chosen, []string{"edge-fra"}) || ex.Policy != "nearest" {
		t.Errorf("route explain --json = %+v", ex)
	}
}

func TestE2EAnycastAck(t *testing.T) {
	srv := ferrytest.New(t)
	l := start(t, srv.URL(), "", "listen", "--id", "worker-1", "--count", "1")
	l.waitStderr("ferry: listening on > as worker-1")
	code, _, stderr := runFerry(t, srv.URL(), "", "anycast", "jobs.run", "job-1", "--ack", "--policy", "hash", "--key", "user-42")
	expect(t, "anycast --ack", code, 0, stderr, "acknowledged by worker-1\n")
	if code := l.wait(); code != 0 {
		t.Errorf("listen exit %d", code)
	}
	if got := l.stdout.String(); !strings.HasSuffix(got, "jobs.run: job-1\n") {
		t.Errorf("listen printed %q", got)
	}
}
