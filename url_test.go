package ferry

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name, in, addr, url string
		bad                 bool
	}{
		{name: "empty is default", in: "", addr: "127.0.0.1:7420", url: "ferry://127.0.0.1:7420"},
		{name: "ferry scheme", in: "ferry://example.com:1234", addr: "example.com:1234", url: "ferry://example.com:1234"},
		{name: "tcp scheme", in: "tcp://10.0.0.1:99", addr: "10.0.0.1:99", url: "ferry://10.0.0.1:99"},
		{name: "upper-case scheme", in: "FERRY://h:1", addr: "h:1", url: "ferry://h:1"},
		{name: "bare host:port", in: "localhost:7000", addr: "localhost:7000", url: "ferry://localhost:7000"},
		{name: "trailing slash", in: "ferry://h:1/", addr: "h:1", url: "ferry://h:1"},
		{name: "default port", in: "ferry://broker", addr: "broker:7420", url: "ferry://broker:7420"},
		{name: "bare host", in: "broker", addr: "broker:7420", url: "ferry://broker:7420"},
		{name: "ipv6", in: "ferry://[::1]:5", addr: "[::1]:5", url: "ferry://[::1]:5"},
		{name: "ipv6 default port", in: "[::1]", addr: "[::1]:7420", url: "ferry://[::1]:7420"},
		{name: "http scheme", in: "http://h:1", bad: true},
		{name: "path", in: "ferry://h:1/x", bad: true},
		{name: "user info", in: "ferry://u@h:1", bad: true},
		{name: "port zero", in: "h:0", bad: true},
		{name: "port too big", in: "h:70000", bad: true},
		{name: "port not a number", in: "h:http", bad: true},
		{name: "missing host", in: "ferry://:1", bad: true},
		{name: "scheme only", in: "ferry://", bad: true},
		{name: "unbracketed ipv6", in: "::1", bad: true},
		{name: "space", in: "h :1", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, url, err := parseURL(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrBadURL) {
					t.Fatalf("parseURL(%q) = %q, %q, %v; want ErrBadURL", tt.in, addr, url, err)
				}
				return
			}
			if err != nil || addr != tt.addr || url != tt.url {
				t.Fatalf("parseURL(%q) = %q, %q, %v; want %q, %q", tt.in, addr, url, err, tt.addr, tt.url)
			}
		})
	}
}

func TestCheckSubject(t *testing.T) {
	tests := []struct {
		s       string
		pattern bool
		ok      bool
	}{
		{"orders", false, true},
		{"orders.eu.created", false, true},
		{"_INBOX.ep-1.42", false, true},
		{"", false, false},
		{"a..b", false, false},
		{".a", false, false},
		{"a.", false, false},
		{"a b", false, false},
		{"a\tb", false, false},
		{"a.*", false, false},
		{"a.>", false, false},
		{"a*", false, false},
		{"a.*", true, true},
		{"a.>", true, true},
		{">", true, true},
		{"*.*.x", true, true},
		{"a.>.b", true, false},
		{"a.b*", true, false},
		{"a.>b", true, false},
		{"", true, false},
	}
	for _, tt := range tests {
		err := checkSubject(tt.s, tt.pattern)
		if (err == nil) != tt.ok {
			t.Errorf("checkSubject(%q, pattern=%v) = %v, want ok=%v", tt.s, tt.pattern, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("checkSubject(%q) = %v, does not match ErrInvalidSubject", tt.s, err)
		}
	}
}

func TestCheckSubjectDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { checkSubject("orders.eu.created", false) }); n != 0 {
		t.Fatalf("checkSubject allocates %v times", n)
	}
}

func TestHeader(t *testing.T) {
	var h Header
	h.Add("a", "1")
	h.Add("b", "2")
	h.Add("a", "3")
	if got := h.Get("a"); got != "1" {
		t.Errorf("Get(a) = %q, want 1", got)
	}
	if got := h.Get("missing"); got != "" {
		t.Errorf("Get(missing) = %q", got)
	}
	if got := h.Values("a"); !reflect.DeepEqual(got, []string{"1", "3"}) {
		t.Errorf("Values(a) = %q", got)
	}
	h.Set("a", "9")
	if want := (Header{{"b", "2"}, {"a", "9"}}); !reflect.DeepEqual(h, want) {
		t.Errorf("after Set: %v, want %v", h, want)
	}
	h.Del("b")
	if want := (Header{{"a", "9"}}); !reflect.DeepEqual(h, want) {
		t.Errorf("after Del: %v, want %v", h, want)
	}
}

func TestKeepPublishes(t *testing.T) {
	var buf []byte
	plain := (&testPub{Subject: "a", Payload: "x"}).frame()
	buf = append(buf, plain...)
	buf = append(buf, (&testPub{Ref: 3, Subject: "b"}).frame()...)
	buf = append(buf, subFrameFor(5)...)
	buf = append(buf, pingFrame()...)
	buf = append(buf, plain...)
	got := keepPublishes(buf, 1<<20)
	if want := append(append([]byte(nil), plain...), plain...); !reflect.DeepEqual(got, want) {
		t.Fatalf("keepPublishes kept %d bytes, want %d", len(got), len(want))
	}
	if got := keepPublishes(append([]byte(nil), buf...), len(plain)); len(got) != len(plain) {
		t.Fatalf("keepPublishes with limit kept %d bytes, want %d", len(got), len(plain))
	}
}
