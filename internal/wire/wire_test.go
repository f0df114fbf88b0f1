package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func sampleFrames() []Frame {
	hdr := AppendHeaders(nil, []HeaderField{{"Msg-Id", "42"}, {"trace", ""}})
	return []Frame{
		&Connect{Version: Version, ID: "cam-1", Name: "camera", Region: "eu",
			Labels: []Label{{"type", "camera"}, {"ip", "10.0.1.17"}}, HasLocation: true, Lat: 50.11, Lon: 8.68, Token: "t"},
		&Connect{Version: Version},
		&Info{Version: Version, Server: "ferry 0.1", ID: "ep-1", MaxPayload: 1 << 20, MaxHeaders: 64 << 10, PingMillis: 30000},
		&Pub{Ref: 7, Subject: []byte("orders.eu"), Reply: []byte("_INBOX.x.1"), Headers: hdr, Payload: []byte("hello")},
		&Pub{Subject: []byte("a"), Target: Target{Mode: ModeUnicast, To: []byte("ep-2")}},
		&Pub{Subject: []byte("a"), Target: Target{Mode: ModeAnycast, Where: []byte("type=edge"), Policy: 1, Key: []byte("k"), HasNear: true, Lat: 1.5, Lon: -2, TimeoutMillis: 250}},
		&Sub{Ref: 1, SID: 9, Scope: ScopeTopic | ScopeInbox, Pattern: []byte("orders.>"), Group: []byte("workers"), Policy: 2},
		&Sub{Ref: 2, SID: 10, Pattern: []byte("prices.*"), Backpressure: BackpressureLatestPerKey, Limit: 300},
		&Unsub{Ref: 2, SID: 9},
		&Msg{SID: 9, Subject: []byte("orders.eu"), Reply: []byte("r"), From: []byte("ep-1"), Mode: ModeUnicast, Headers: hdr, Payload: []byte("x")},
		&Ok{Ref: 7, Count: 3},
		&Ok{Ref: 8, Count: 1, Seq: 1 << 40},
		&Log{Ref: 9, Action: LogFetch, Body: []byte(`{"log":"orders"}`)},
		&Log{Ref: 10, Action: LogList},
		&Err{Ref: 7, Code: CodeInvalidSubject, Message: "bad subject"},
		&Meta{Ref: 3, Region: "eu", Labels: []Label{{"type", "edge"}}, HasLocation: true, Lat: 1, Lon: 2},
		&Meta{},
		&Membership{Op: OpJoin, Ref: 4, Group: "channel.7"},
		&Membership{Op: OpLeave, Ref: 5, Group: "channel.7"},
		&Query{Ref: 6, Kind: QueryEndpoints, Where: []byte("type=edge")},
		&Query{Ref: 7, Kind: QueryExplain, Subject: []byte("a"), Target: Target{Mode: ModeAnycast, Policy: 1, TimeoutMillis: 500}},
		&Result{Ref: 6, Body: []byte(`[]`)},
		&StreamOpen{Ref: 8, Stream: 3, Flags: StreamBidi, Subject: []byte("gps"), Target: Target{Mode: ModeUnicast, To: []byte("d")}, WindowMsgs: 64, WindowBytes: 1 << 20},
		&StreamOpen{Stream: 4, Subject: []byte("gps"), From: []byte("phone")},
		&StreamData{Stream: 3, Seq: 1, Payload: []byte("52.5,13.4")},
		&StreamCredit{Stream: 3, Msgs: 10, Bytes: 4096},
		&StreamClose{Stream: 3, Code: StreamAborted, Reason: "bye"},
		Empty{OpPing},
		Empty{OpPong},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range sampleFrames() {
		t.Run(reflect.TypeOf(f).String(), func(t *testing.T) {
			b := f.Append(nil)
			op, body, rest, need, err := Split(b, 1<<20)
			if err != nil || need != 0 || len(rest) != 0 {
				t.Fatalf("Split: op=%v need=%d rest=%d err=%v", op, need, len(rest), err)
			}
			got, err := Decode(op, body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, f)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		op   Op
		body []byte
	}{
		{"pub empty", OpPub, nil},
		{"pub truncated subject", OpPub, []byte{0, 5, 'a'}},
		{"pub bad mode", OpPub, []byte{0, 1, 'a', 0, 9}},
		{"sub bad scope", OpSub, []byte{0, 1, 0x80, 1, 'a', 0, 0, 0, 0}},
		{"sub bad backpressure", OpSub, []byte{0, 1, 0, 1, 'a', 0, 0, 5, 0}},
		{"sub without backpressure", OpSub, []byte{0, 1, 0, 1, 'a', 0, 0}},
		{"sub without limit", OpSub, []byte{0, 1, 0, 1, 'a', 0, 0, 1}},
		{"query bad kind", OpQuery, []byte{0, 0, 0, 0, 0}},
		{"ping with body", OpPing, []byte{1}},
		{"ok trailing", OpOk, []byte{1, 1, 1, 1}},
		{"ok without seq", OpOk, []byte{1, 1}},
		{"log bad action", OpLog, []byte{1, 0, 0}},
		{"log unknown action", OpLog, []byte{1, 11, 0}},
		{"log without body", OpLog, []byte{1, 1}},
		{"connect huge labels", OpConnect, []byte{1, 0, 0, 0, 0xff, 0xff, 0x03}},
		{"unknown op", Op(99), nil},
		{"varint overflow", OpUnsub, bytes.Repeat([]byte{0xff}, 11)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.op, tt.body); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSplitLimits(t *testing.T) {
	f := (&Pub{Subject: []byte("a"), Payload: make([]byte, 100)}).Append(nil)
	if _, _, _, _, err := Split(f, 50); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Split over limit = %v, want ErrTooLarge", err)
	}
	if _, _, _, _, err := Split([]byte{0, 0, 0, 0}, 50); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Split empty frame = %v, want ErrMalformed", err)
	}
	if _, _, _, need, err := Split(f[:10], 1000); err != nil || need != len(f) {
		t.Fatalf("Split partial = need %d err %v, want need %d", need, err, len(f))
	}
}

func TestHeaders(t *testing.T) {
	hs := []HeaderField{{"a", "1"}, {"a", "2"}, {"b", ""}}
	b := AppendHeaders(nil, hs)
	got, err := ParseHeaders(b)
	if err != nil || !reflect.DeepEqual(got, hs) {
		t.Fatalf("ParseHeaders = %v, %v", got, err)
	}
	if err := ValidateHeaders(b); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{{0}, {1}, {1, 5, 'a'}, append(b, 0)} {
		if _, err := ParseHeaders(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHeaders(%v) = %v, want ErrMalformed", bad, err)
		}
		if err := ValidateHeaders(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ValidateHeaders(%v) = %v, want ErrMalformed", bad, err)
		}
	}
}

// oneByteReader returns one byte per Read, to exercise buffering.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestReader(t *testing.T) {
	var stream []byte
	frames := sampleFrames()
	big := &Pub{Subject: []byte("big"), Payload: bytes.Repeat([]byte("x"), 3*DefaultReadBuffer)}
	frames = append(frames, big)
	for _, f := range frames {
		stream = f.Append(stream)
	}
	for name, src := range map[string]io.Reader{"whole": bytes.NewReader(stream), "bytewise": &oneByteReader{stream}} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src, 1<<20)
			for i, want := range frames {
				op, body, err := r.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				got, err := Decode(op, body)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("frame %d: got %#v, %v", i, got, err)
				}
			}
			if _, _, err := r.Next(); err != io.EOF {
				t.Fatalf("end: %v, want EOF", err)
			}
		})
	}
	r := NewReader(bytes.NewReader(stream[:len(stream)-1]), 1<<20)
	var err error
	for err == nil {
		_, _, err = r.Next()
	}
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated stream: %v, want ErrUnexpectedEOF", err)
	}
}

func TestDecodePubNoAlloc(t *testing.T) {
	f := (&Pub{Ref: 1, Subject: []byte("orders.eu"), Reply: []byte("r"), Payload: make([]byte, 128)}).Append(nil)
	var p Pub
	out := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Decode(f[HeaderSize+1:]); err != nil {
			t.Fatal(err)
		}
		out = AppendMsg(out[:0], 1, p.Subject, p.Reply, nil, ModePublish, nil, p.Payload)
	})
	if allocs != 0 {
		t.Fatalf("decode PUB + encode MSG allocates %.0f times", allocs)
	}
}

func TestHasHeader(t *testing.T) {
	block := AppendHeaders(nil, []HeaderField{{Key: "Ferry-Status", Value: "declined"}, {Key: "K", Value: "v"}})
	tests := []struct {
		name       string
		b          []byte
		key, value string
		want       bool
	}{
		{"first field", block, "Ferry-Status", "declined", true},
		{"second field", block, "K", "v", true},
		{"other value", block, "Ferry-Status", "ack", false},
		{"absent", block, "X", "v", false},
		{"empty block", nil, "K", "v", false},
		{"truncated", block[:len(block)-1], "K", "v", false},
		{"garbage", []byte{0xff, 0xff, 0xff}, "K", "v", false},
	}
	for _, tt := range tests {
		if got := HasHeader(tt.b, tt.key, tt.value); got != tt.want {
			t.Errorf("%s: HasHeader = %v, want %v", tt.name, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { HasHeader(block, "K", "v") }); n != 0 {
		t.Errorf("HasHeader allocates %v times", n)
	}
}
