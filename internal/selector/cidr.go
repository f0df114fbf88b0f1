package selector

import (
	"net/netip"
	"strconv"
	"strings"
)

// cidrValue decides whether a selector value is a CIDR prefix. A value is
// taken as a prefix when it contains '/' and the text before the first '/'
// looks like an IP address (see looksLikeIP); it must then be a valid
// prefix without host bits, or cidrValue returns a non-empty problem.
// Other values are literals: ok is false and problem is "".
func cidrValue(v string) (p netip.Prefix, ok bool, problem string) {
	head, _, found := strings.Cut(v, "/")
	if !found || !looksLikeIP(head) {
		return netip.Prefix{}, false, ""
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		if _, err := netip.ParseAddr(head); err != nil {
			return p, false, "invalid CIDR prefix " + strconv.Quote(v) + ": bad IP address"
		}
		return p, false, "invalid CIDR prefix " + strconv.Quote(v) + ": prefix length must be 0.." +
			strconv.Itoa(addrBits(head))
	}
	if m := p.Masked(); m != p {
		return p, false, "CIDR prefix " + strconv.Quote(v) + " has host bits set; did you mean " + m.String() + "?"
	}
	return unmapPrefix(p), true, ""
}

// looksLikeIP reports whether s is shaped like an IPv4 address (a digit,
// then digits and at least one dot) or an IPv6 address (a colon, hex
// digits, dots).
func looksLikeIP(s string) bool {
	if s == "" {
		return false
	}
	if !strings.Contains(s, ":") {
		return '0' <= s[0] && s[0] <= '9' && strings.Contains(s, ".") && strings.Trim(s, "0123456789.") == ""
	}
	return strings.Trim(s, "0123456789abcdefABCDEF:.") == ""
}

func addrBits(s string) int {
	if strings.Contains(s, ":") {
		return 128
	}
	return 32
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix such as ::ffff:10.0.1.0/120
// into the IPv4 prefix it stands for (10.0.1.0/24), since label addresses
// are unmapped before matching.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
}

// anyContains reports whether label value s is an IP address inside one of
// ps. It does not allocate.
func anyContains(ps []netip.Prefix, s string) bool {
	a, ok := parseAddr(s)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) { // the zero Prefix contains nothing
			return true
		}
	}
	return false
}

// parseAddr parses an IPv4 or IPv6 address as netip.ParseAddr does, but
// never allocates (netip allocates for its errors and for zones): it is run
// on label values on the matching hot path. An IPv6 zone ("fe80::1%eth0")
// is accepted and dropped.
func parseAddr(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			b, ok := parseIPv4(s)
			return netip.AddrFrom4(b), ok
		case ':':
			if z := strings.IndexByte(s, '%'); z >= 0 {
				if z == len(s)-1 {
					return netip.Addr{}, false // empty zone
				}
				s = s[:z]
			}
			b, ok := parseIPv6(s)
			return netip.AddrFrom16(b), ok
		case '%':
			return netip.Addr{}, false
		}
	}
	return netip.Addr{}, false
}

// parseIPv4 parses dotted-quad s: four decimal fields 0..255 without
// leading zeros.
func parseIPv4(s string) (b [4]byte, ok bool) {
	for i := range b {
		field := s
		if i < 3 {
			var found bool
			if field, s, found = strings.Cut(s, "."); !found {
				return b, false
			}
		}
		n, ok := parseOctet(field)
		if !ok {
			return b, false
		}
		b[i] = n
	}
	return b, true
}

func parseOctet(s string) (byte, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return byte(n), n <= 255
}

// parseIPv6 parses s (without zone) as 8 colon-separated groups of 1-4 hex
// digits, where one "::" may stand for one or more zero groups and the
// last two groups may be written as a dotted quad.
func parseIPv6(s string) (b [16]byte, ok bool) {
	head, tail, ellipsis := strings.Cut(s, "::")
	if !ellipsis {
		n, ok := parseGroups(head, b[:], true)
		return b, ok && n == 16
	}
	if strings.Contains(tail, "::") {
		return b, false
	}
	var t [16]byte
	n, ok1 := parseGroups(head, b[:], false)
	m, ok2 := parseGroups(tail, t[:], true)
	if !ok1 || !ok2 || n+m > 14 { // "::" stands for at least one group
		return b, false
	}
	copy(b[16-m:], t[:m])
	return b, true
}

// parseGroups parses colon-separated hex groups of s into dst and returns
// the number of bytes written. An empty s has no groups. When v4Last is
// set, the last group may be a dotted quad filling four bytes.
func parseGroups(s string, dst []byte, v4Last bool) (n int, ok bool) {
	for s != "" {
		group, rest, more := strings.Cut(s, ":")
		if more && rest == "" {
			return n, false // trailing colon
		}
		if !more && v4Last && strings.Contains(group, ".") {
			if n+4 > len(dst) {
				return n, false
			}
			v4, ok := parseIPv4(group)
			copy(dst[n:], v4[:])
			return n + 4, ok
		}
		v, ok := parseHex16(group)
		if !ok || n+2 > len(dst) {
			return n, false
		}
		dst[n], dst[n+1] = byte(v>>8), byte(v)
		n += 2
		s = rest
	}
	return n, true
}

func parseHex16(s string) (uint16, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	var v uint16
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}
