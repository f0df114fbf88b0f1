package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    Record
	}{
		{"empty fields", Record{Seq: 1, Time: time.Unix(0, 0).UTC()}},
		{"all fields", Record{Seq: 42, Time: time.Date(2026, 3, 1, 0, 0, 0, 7, time.UTC),
			Subject: "orders.eu.created", Headers: []byte("a=1\nb=2"), Payload: []byte{0, 1, 2, 255}, MsgID: "m-1"}},
		{"long varints", Record{Seq: 1 << 60, Time: time.Unix(0, -5).UTC(), Payload: make([]byte, 70000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := appendRecord([]byte("prefix"), &tc.r)[len("prefix"):]
			if len(b) != tc.r.Size() {
				t.Fatalf("encoded %d bytes, Size says %d", len(b), tc.r.Size())
			}
			got, n, err := decodeRecord(append(b, "trailing"...))
			if err != nil || n != len(b) {
				t.Fatalf("decode: n %d err %v", n, err)
			}
			if got.Seq != tc.r.Seq || !got.Time.Equal(tc.r.Time) || got.Subject != tc.r.Subject || got.MsgID != tc.r.MsgID ||
				!bytes.Equal(got.Headers, tc.r.Headers) || !bytes.Equal(got.Payload, tc.r.Payload) {
				t.Fatalf("decoded %+v, want %+v", got, tc.r)
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := appendRecord(nil, &Record{Seq: 3, Time: time.Unix(0, 9), Subject: "s", Payload: []byte("p")})
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short header", good[:5], errTruncated},
		{"short body", good[:len(good)-1], errTruncated},
		{"length too small", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 3); return b }), errBadLength},
		{"length too large", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b, MaxRecordBytes); return b }), errBadLength},
		{"flipped payload", mutate(func(b []byte) []byte { b[len(b)-2] ^= 1; return b }), errBadCRC},
		{"flipped crc", mutate(func(b []byte) []byte { b[5] ^= 1; return b }), errBadCRC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := decodeRecord(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzRecord decodes arbitrary bytes; whatever decodes must re-encode to
// the same bytes, and validFrame must agree with the decoder.
func FuzzRecord(f *testing.F) {
	f.Add(appendRecord(nil, &Record{Seq: 1, Time: time.Unix(0, 1), Subject: "a.b", Payload: []byte("x"), MsgID: "id"}))
	f.Add(appendRecord(nil, &Record{Seq: 7, Time: time.Unix(5, 0), Headers: []byte("h")}))
	f.Add([]byte{20, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := decodeRecord(b)
		if size, ferr := frameSize(b); ferr == nil && size <= len(b) && validFrame(b[:size]) != (err == nil) {
			t.Fatalf("validFrame %v, decode err %v", !validFrame(b[:size]), err)
		}
		if err != nil {
			return
		}
		if re := appendRecord(nil, &r); !bytes.Equal(re, b[:n]) || r.Size() != n {
			t.Fatalf("re-encoded %x, want %x", re, b[:n])
		}
	})
}
