package ferry

import (
	"testing"

	"github.com/ferrymq/ferry/internal/wire"
)

func TestLossyFlowKeepsTheWindow(t *testing.T) {
	for _, tt := range []struct {
		p    Backpressure
		want []uint64
	}{
		{BackpressureDropNewest, []uint64{1, 2, 3}},
		{BackpressureDropOldest, []uint64{4, 5, 6}},
		{BackpressureLatestPerKey, []uint64{5, 6, 3}}, // keys a, b, c, a, a, b
	} {
		f := &flow{kind: flowIn, lossy: true, policy: tt.p, winMsgs: 3, readable: make(chan struct{}, 1)}
		keys := []string{"a", "b", "c", "a", "a", "b"}
		for i, k := range keys {
			hs := []wire.HeaderField{{Key: wire.KeyHeader, Value: k}}
			if i == 5 {
				hs = append(hs, wire.HeaderField{Key: wire.DroppedHeader, Value: "10"})
			}
			f.onData(&wire.StreamData{Seq: uint64(i + 1), Headers: wire.AppendHeaders(nil, hs)})
		}
		if f.serverDropped != 10 {
			t.Errorf("%v: server count %d, want 10", tt.p, f.serverDropped)
		}
		for _, m := range f.queue[f.head:] {
			if m.Header.Get(wire.DroppedHeader) != "" {
				t.Errorf("%v: message %d kept %s", tt.p, m.Seq, wire.DroppedHeader)
			}
		}
		var got []uint64
		for _, m := range f.queue[f.head:] {
			got = append(got, m.Seq)
		}
		if len(got) != len(tt.want) || got[0] != tt.want[0] || got[1] != tt.want[1] || got[2] != tt.want[2] || f.localDropped != 3 {
			t.Errorf("%v: kept %v, dropped %d; want %v, 3", tt.p, got, f.localDropped, tt.want)
		}
	}
}

func TestTakeDropped(t *testing.T) {
	h, n, ok := takeDropped(Header{{Key: "a", Value: "1"}, {Key: wire.DroppedHeader, Value: "42"}})
	if !ok || n != 42 || len(h) != 1 || h[0].Key != "a" {
		t.Fatalf("got %v %d %v", h, n, ok)
	}
	if h, _, ok := takeDropped(Header{{Key: wire.DroppedHeader, Value: "7"}}); !ok || h != nil {
		t.Fatalf("got %v %v", h, ok)
	}
}
