package selector

import (
	"net/netip"
	"testing"
)

var addrSeeds = []string{
	"", "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5",
	"01.2.3.4", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4%eth0", "%eth0",
	"::", "::1", "1::", ":::", "1:::2", "::1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
	"1:2:3:4:5:6:7", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8",
	"fe80::1%eth0", "fe80::1%", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:1.2.3.4",
	"1.2.3.4::", "::1.2.3.4:1", "1:2:3:4:5:6::1.2.3.4", "12345::", "0db8::", "ABCD:ef01::",
	"g::", ":1::", "1:", ":1", "::ffff:01.2.3.4", "::a.2.3.4", "::12345.1.1.1",
}

// TestParseAddr checks parseAddr against netip.ParseAddr on known inputs;
// FuzzParseAddr extends the comparison to generated ones.
func TestParseAddr(t *testing.T) {
	for _, s := range addrSeeds {
		checkParseAddr(t, s)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range addrSeeds {
		f.Add(s)
	}
	f.Fuzz(checkParseAddr)
}

func checkParseAddr(t *testing.T, s string) {
	got, ok := parseAddr(s)
	want, err := netip.ParseAddr(s)
	if ok != (err == nil) || (ok && got != want.WithZone("")) {
		t.Fatalf("parseAddr(%q) = %v, %v; netip.ParseAddr = %v, %v", s, got, ok, want, err)
	}
}

func TestCIDRValue(t *testing.T) {
	tests := []struct {
		in      string
		want    string // prefix, "" for a literal
		problem bool
	}{
		{"10.0.1.0/24", "10.0.1.0/24", false},
		{"0.0.0.0/0", "0.0.0.0/0", false},
		{"2001:db8::/32", "2001:db8::/32", false},
		{"::/0", "::/0", false},
		{"::ffff:10.0.1.0/120", "10.0.1.0/24", false},
		{"::ffff:0:0/96", "0.0.0.0/0", false},
		{"::ffff:0:0/80", "", true},
		{"team/infra", "", false},
		{"2024/01", "", false},
		{"urn:x/y", "", false},
		{"v1.2/beta", "", false},
		{"10.0.1.0", "", false},
		{"/24", "", false},
		{"./bin", "", false},
		{"../x", "", false},
		{".1/8", "", false},
		{"1.2/3", "", true},
		{"10.0.1.0/33", "", true},
		{"10.0.1.0/08", "", true},
		{"10.0.1.1/24", "", true},
		{"cafe::/200", "", true},
		{"cafe:babe/16", "", true},
	}
	for _, tt := range tests {
		p, ok, problem := cidrValue(tt.in)
		if (problem != "") != tt.problem || ok != (tt.want != "") || (ok && p.String() != tt.want) {
			t.Errorf("cidrValue(%q) = %v, %v, %q; want %q, problem %v", tt.in, p, ok, problem, tt.want, tt.problem)
		}
	}
}
