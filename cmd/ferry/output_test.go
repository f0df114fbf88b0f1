package main

import (
	"bytes"
	"testing"

	"github.com/ferrymq/ferry"
)

func TestPrinterFormats(t *testing.T) {
	msg := &ferry.Msg{
		Subject: "a.b", Reply: "_INBOX.x", From: "ep-1", Mode: ferry.ModeUnicast,
		Header: ferry.Header{{Key: "k", Value: "1"}, {Key: "j", Value: "x"}, {Key: "k", Value: "2"}},
		Data:   []byte("hi & <bye>"),
	}
	tests := []struct {
		name   string
		format func(*bytes.Buffer, *ferry.Msg)
		msg    *ferry.Msg
		want   string
	}{
		{"payload", formatPayload, msg, "hi & <bye>\n"},
		{"payload ending in newline", formatPayload, &ferry.Msg{Data: []byte("x\n")}, "x\n"},
		{"empty payload", formatPayload, &ferry.Msg{}, "\n"},
		{"listen", formatListen, msg, "unicast from ep-1 a.b: hi & <bye>\n"},
		{"json", formatJSON, msg, `{"subject":"a.b","reply":"_INBOX.x","from":"ep-1","mode":"unicast","headers":{"j":["x"],"k":["1","2"]},"payload":"hi & <bye>"}` + "\n"},
		{"json empty", formatJSON, &ferry.Msg{Subject: "s"}, `{"subject":"s","reply":"","from":"","mode":"publish","headers":{},"payload":""}` + "\n"},
		{"json binary", formatJSON, &ferry.Msg{Subject: "s", Data: []byte{0xff, 0, 1}}, `{"subject":"s","reply":"","from":"","mode":"publish","headers":{},"payload_base64":"/wAB"}` + "\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := newPrinter(&out, tt.format).print(tt.msg); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("%s: got %q\nwant %q", tt.name, out.String(), tt.want)
		}
	}
}
