package ferry

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// defaultPort is used when a URL names a host without a port.
const defaultPort = "7420"

// parseURL turns "ferry://host:port", "tcp://host:port" or "host:port" into
// a dial address and the canonical "ferry://host:port" form. An empty url
// means DefaultURL; a missing port means 7420.
func parseURL(url string) (addr, canonical string, err error) {
	if url == "" {
		url = DefaultURL
	}
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: %q: %s", ErrBadURL, url, why)
	}
	rest := url
	if scheme, after, ok := strings.Cut(url, "://"); ok {
		switch strings.ToLower(scheme) {
		case "ferry", "tcp":
		default:
			return bad("scheme must be ferry or tcp")
		}
		rest = strings.TrimSuffix(after, "/")
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@ \t") {
		return bad("want host:port")
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		// No port: the whole rest is the host (an IPv6 address needs brackets).
		if strings.Contains(strings.Trim(rest, "[]"), ":") && !strings.HasPrefix(rest, "[") {
			return bad("want host:port")
		}
		host, port = strings.Trim(rest, "[]"), defaultPort
	}
	if host == "" {
		return bad("missing host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("port must be 1-65535")
	}
	addr = net.JoinHostPort(host, port)
	return addr, "ferry://" + addr, nil
}
