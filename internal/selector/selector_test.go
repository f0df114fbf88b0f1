package selector

import (
	"sync"
	"testing"
)

func TestMatches(t *testing.T) {
	camera := Map{"type": "camera", "region": "eu", "version": "2", "tier": "", "ip": "10.0.1.17"}
	tests := []struct {
		name   string
		sel    string
		labels Map
		want   bool
	}{
		{"empty selector, labels", "", camera, true},
		{"empty selector, no labels", "", nil, true},
		{"equals", "type=camera", camera, true},
		{"equals other value", "type=sensor", camera, false},
		{"equals absent", "zone=a", camera, false},
		{"equals is case sensitive", "type=Camera", camera, false},
		{"not equals", "version!=1", camera, true},
		{"not equals same", "version!=2", camera, false},
		{"not equals absent", "zone!=a", camera, true},
		{"empty value", "tier=", camera, true},
		{"empty value, non-empty label", "type=", camera, false},
		{"empty value absent", "zone=", camera, false},
		{"not empty value", "tier!=", camera, false},
		{"in", "region in (us,eu)", camera, true},
		{"in miss", "region in (us,ap)", camera, false},
		{"in absent", "zone in (a,b)", camera, false},
		{"notin", "region notin (us,ap)", camera, true},
		{"notin hit", "region notin (us,eu)", camera, false},
		{"notin absent", "zone notin (a)", camera, true},
		{"exists", "type", camera, true},
		{"exists empty value", "tier", camera, true},
		{"exists absent", "zone", camera, false},
		{"not exists", "!zone", camera, true},
		{"not exists present", "!tier", camera, false},
		{"and all", "type=camera,region in (eu),tier,!zone", camera, true},
		{"and one fails", "type=camera,region in (us),tier", camera, false},
		{"duplicate keys", "type=camera,type=sensor", camera, false},
		{"nil labels exists", "type", nil, false},
		{"nil labels not exists", "!type", nil, true},
		{"nil labels not equals", "type!=a", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustParse(tt.sel).Matches(tt.labels); got != tt.want {
				t.Errorf("%q.Matches(%v) = %v, want %v", tt.sel, tt.labels, got, tt.want)
			}
		})
	}
}

func TestMatchesCIDR(t *testing.T) {
	tests := []struct {
		name   string
		sel    string
		labels Map
		want   bool
	}{
		{"v4 label inside", "addr=10.0.1.0/24", Map{"addr": "10.0.1.17"}, true},
		{"v4 label outside", "addr=10.0.1.0/24", Map{"addr": "10.0.2.17"}, false},
		{"v4 network address", "addr=10.0.1.0/24", Map{"addr": "10.0.1.0"}, true},
		{"v4 broadcast address", "addr=10.0.1.0/24", Map{"addr": "10.0.1.255"}, true},
		{"v4 literal equal", "subnet=10.0.1.0/24", Map{"subnet": "10.0.1.0/24"}, true},
		{"v4 literal other prefix", "subnet=10.0.1.0/24", Map{"subnet": "10.0.0.0/16"}, false},
		{"v4 literal not an ip", "addr=10.0.1.0/24", Map{"addr": "lab"}, false},
		{"v4 label with leading zero", "addr=10.0.1.0/24", Map{"addr": "10.0.1.017"}, false},
		{"v4 zero prefix", "addr=0.0.0.0/0", Map{"addr": "192.0.2.1"}, true},
		{"v4 prefix, v6 label", "addr=0.0.0.0/0", Map{"addr": "2001:db8::1"}, false},
		{"v4 host prefix", "addr=10.0.1.17/32", Map{"addr": "10.0.1.17"}, true},
		{"v6 inside", "addr=2001:db8::/32", Map{"addr": "2001:db8:1::5"}, true},
		{"v6 outside", "addr=2001:db8::/32", Map{"addr": "2001:db9::5"}, false},
		{"v6 upper case", "addr=2001:DB8::/32", Map{"addr": "2001:0db8::5"}, true},
		{"v6 zone ignored", "addr=fe80::/10", Map{"addr": "fe80::1%eth0"}, true},
		{"v6 literal equal", "addr=2001:DB8::/32", Map{"addr": "2001:DB8::/32"}, true},
		{"v6 literal differently written", "addr=2001:DB8::/32", Map{"addr": "2001:db8::/32"}, false},
		{"v6 prefix, v4 label", "addr=::/0", Map{"addr": "10.0.0.1"}, false},
		{"mapped label", "addr=10.0.1.0/24", Map{"addr": "::ffff:10.0.1.17"}, true},
		{"mapped prefix", "addr=::ffff:10.0.1.0/120", Map{"addr": "10.0.1.17"}, true},
		{"subnet from ip", "subnet=10.0.1.0/24", Map{"ip": "10.0.1.17"}, true},
		{"subnet from ip outside", "subnet=10.0.1.0/24", Map{"ip": "10.0.2.17"}, false},
		{"subnet from ip v6", "subnet=fd00::/8", Map{"ip": "fd12::1"}, true},
		{"subnet label wins over ip", "subnet=10.0.1.0/24", Map{"subnet": "10.0.1.0/24", "ip": "192.0.2.1"}, true},
		{"ip wins over subnet label", "subnet=10.0.1.0/24", Map{"subnet": "lab", "ip": "10.0.1.5"}, true},
		{"subnet label holds ip", "subnet=10.0.1.0/24", Map{"subnet": "10.0.1.5"}, true},
		{"subnet literal ignores ip", "subnet=lab", Map{"ip": "10.0.1.5"}, false},
		{"subnet exists ignores ip", "subnet", Map{"ip": "10.0.1.5"}, false},
		{"other key ignores ip", "net=10.0.1.0/24", Map{"ip": "10.0.1.5"}, false},
		{"ip key inside", "ip=10.0.1.0/24", Map{"ip": "10.0.1.5"}, true},
		{"address value is literal", "ip=10.0.1.5", Map{"ip": "10.0.1.5"}, true},
		{"address value no containment", "ip=10.0.1.0", Map{"ip": "10.0.1.5"}, false},
		{"not equals inside", "subnet!=10.0.1.0/24", Map{"ip": "10.0.1.5"}, false},
		{"not equals outside", "subnet!=10.0.1.0/24", Map{"ip": "10.0.2.5"}, true},
		{"not equals absent", "subnet!=10.0.1.0/24", Map{}, true},
		{"in with cidrs", "ip in (10.0.1.0/24,10.0.2.0/24)", Map{"ip": "10.0.2.9"}, true},
		{"in with cidrs miss", "ip in (10.0.1.0/24,10.0.2.0/24)", Map{"ip": "10.0.3.9"}, false},
		{"in mixed literal", "subnet in (lab,10.0.1.0/24)", Map{"subnet": "lab"}, true},
		{"in mixed prefix", "subnet in (lab,10.0.1.0/24)", Map{"ip": "10.0.1.1"}, true},
		{"in mixed v6", "subnet in (lab,fd00::/8)", Map{"ip": "fd00::1"}, true},
		{"notin with cidrs", "subnet notin (10.0.1.0/24,fd00::/8)", Map{"ip": "fd00::1"}, false},
		{"notin with cidrs miss", "subnet notin (10.0.1.0/24,fd00::/8)", Map{"ip": "10.9.0.1"}, true},
		{"design example", "type=camera,subnet=10.0.1.0/24", Map{"type": "camera", "ip": "10.0.1.17"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustParse(tt.sel).Matches(tt.labels); got != tt.want {
				t.Errorf("%q.Matches(%v) = %v, want %v", tt.sel, tt.labels, got, tt.want)
			}
		})
	}
}

func TestZeroSelector(t *testing.T) {
	var s Selector
	if !s.Empty() || s.String() != "" || len(s.Requirements()) != 0 || !s.Matches(Map{"a": "b"}) || !s.Matches(nil) {
		t.Errorf("zero Selector: Empty %v, String %q, Requirements %v", s.Empty(), s, s.Requirements())
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	s := MustParse("type=camera,region in (eu,us),version!=1,tier,!draining," +
		"subnet=10.0.1.0/24,addr in (fd00::/8,lab)")
	labels := []Map{
		{"type": "camera", "region": "eu", "version": "2", "tier": "", "ip": "10.0.1.17", "addr": "fd00::1%eth0"},
		{"type": "camera", "region": "us", "tier": "gold", "subnet": "10.0.1.5", "addr": "not-an-ip"},
		{"type": "camera", "region": "eu", "tier": "", "ip": "fe80::1%eth0", "addr": "::ffff:10.1.2.3"},
	}
	for _, l := range labels {
		allocs := testing.AllocsPerRun(100, func() { s.Matches(l) })
		if allocs != 0 {
			t.Errorf("Matches(%v) allocates %v times per run", l, allocs)
		}
	}
}

func TestConcurrentMatches(t *testing.T) {
	s := MustParse("type=camera,subnet=10.0.1.0/24")
	l := Map{"type": "camera", "ip": "10.0.1.17"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if !s.Matches(l) {
					t.Error("concurrent Matches = false")
					return
				}
				_ = s.String()
			}
		})
	}
	wg.Wait()
}
