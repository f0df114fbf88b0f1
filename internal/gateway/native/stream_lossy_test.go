package native

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/wire"
)

// streamHeader returns the last value of header key in a STREAM_DATA.
func streamHeader(t *testing.T, d *wire.StreamData, key string) (string, bool) {
	t.Helper()
	hs, err := wire.ParseHeaders(d.Headers)
	if err != nil {
		t.Fatalf("headers of message %d: %v", d.Seq, err)
	}
	v, found := "", false
	for _, h := range hs {
		if h.Key == key {
			v, found = h.Value, true
		}
	}
	return v, found
}

// A lossy stream receiver that does not read never holds up the opener: the
// connection applies its policy, the receiver stays connected, and what it
// reads later is in order, with gaps counted by Ferry-Dropped.
func TestLossyStreamReceiverNeverBlocksTheOpener(t *testing.T) {
	const n, limit, keys = 240, 8, 4
	tests := []struct {
		name  string
		bp    uint8
		check func(t *testing.T, seqs []uint64)
	}{
		{"drop-oldest", wire.BackpressureDropOldest, func(t *testing.T, seqs []uint64) {
			if seqs[len(seqs)-1] != n {
				t.Fatalf("last received %d, want %d", seqs[len(seqs)-1], n)
			}
		}},
		{"drop-newest", wire.BackpressureDropNewest, func(t *testing.T, seqs []uint64) {
			// The first 2 × limit (handed, then waiting) are never dropped;
			// later ones get in whenever a write made room.
			for i, s := range seqs[:2*limit] {
				if s != uint64(i+1) {
					t.Fatalf("received %v..., want 1..%d first", seqs[:i+1], 2*limit)
				}
			}
		}},
		{"latest-per-key", wire.BackpressureLatestPerKey, func(t *testing.T, seqs []uint64) {
			// In order per key (a replaced message keeps its place, so
			// not across keys).
			last := map[uint64]uint64{}
			for _, s := range seqs {
				if s <= last[s%keys] {
					t.Fatalf("key k%d: %d after %d", s%keys, s, last[s%keys])
				}
				last[s%keys] = s
			}
			for s := uint64(n - keys + 1); s <= n; s++ {
				if last[s%keys] != s {
					t.Fatalf("key k%d: last received %d, want %d", s%keys, last[s%keys], s)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, b, addr := startGateway(t, testConfig())
			slow := connectRaw(t, addr, "slow")
			slow.shrinkReadBuffer()
			slow.write((&wire.Sub{Ref: 1, SID: 1, Scope: wire.ScopeStream, Pattern: []byte("gps.>"), Backpressure: tt.bp, Limit: limit}).Append(nil))
			slow.ok(1)
			phone := connectRaw(t, addr, "phone")
			phone.write((&wire.StreamOpen{Ref: 2, Stream: 1, Subject: []byte("gps.p1")}).Append(nil))
			var credit *wire.StreamCredit
			for {
				f := phone.next()
				if cr, ok := f.(*wire.StreamCredit); ok {
					credit = cr
					continue
				}
				if ok, _ := f.(*wire.Ok); ok != nil && ok.Ref == 2 {
					if ok.Count != 1 {
						t.Fatalf("stream reached %d", ok.Count)
					}
					break
				}
				t.Fatalf("opener got %#v", f)
			}
			if credit == nil || credit.Stream != 1 || credit.Msgs != broker.UnpacedWindow.Msgs || credit.Bytes != broker.UnpacedWindow.Bytes {
				t.Fatalf("opener credit %#v, want the unpaced window", credit)
			}
			open, _ := slow.next().(*wire.StreamOpen)
			if open == nil || string(open.From) != "phone" {
				t.Fatalf("acceptor got %#v", open)
			}
			// The receiver reads nothing more now. The opener sends 15 MB,
			// past the receiver's socket buffers and MaxPending (4 MiB).
			payload := make([]byte, 64<<10)
			for seq := uint64(1); seq <= n; seq += 8 {
				var buf []byte
				for s := seq; s < seq+8; s++ {
					hs := wire.AppendHeaders(nil, []wire.HeaderField{{Key: wire.KeyHeader, Value: fmt.Sprint("k", s%keys)}})
					buf = (&wire.StreamData{Stream: 1, Seq: s, Headers: hs, Payload: payload}).Append(buf)
				}
				phone.write(buf)
			}
			// Never blocked: a PING right after is answered, with no ERR.
			phone.write(wire.AppendEmpty(nil, wire.OpPing))
			if f, ok := phone.next().(wire.Empty); !ok || f.Op != wire.OpPong {
				t.Fatalf("opener got %#v, want PONG", f)
			}
			if g.Dropped() == 0 {
				t.Fatal("nothing dropped: the receiver's socket never filled")
			}
			// Drops count under the policy, or max-pending when the
			// connection had no room at all; under no other reason.
			if by := g.DroppedBy(); by[tt.name]+by["max-pending"] != g.Dropped() {
				t.Fatalf("drops by reason %v, want all under %s or max-pending", by, tt.name)
			}
			phone.write((&wire.StreamClose{Stream: 1}).Append(nil))

			in := readFrames(slow)
			var seqs []uint64
			var reported uint64
			for done := false; !done; {
				switch f := recv(t, in).(type) {
				case *wire.StreamData:
					if len(seqs) > 0 && f.Seq <= seqs[len(seqs)-1] && tt.bp != wire.BackpressureLatestPerKey {
						t.Fatalf("received %d after %d, want increasing", f.Seq, seqs[len(seqs)-1])
					}
					seqs = append(seqs, f.Seq)
					if v, ok := streamHeader(t, f, wire.DroppedHeader); ok {
						d, err := strconv.ParseUint(v, 10, 64)
						if err != nil || d <= reported {
							t.Fatalf("%s went from %d to %q", wire.DroppedHeader, reported, v)
						}
						reported = d
					}
				case *wire.StreamClose:
					if f.Code != wire.StreamEnd {
						t.Fatalf("close %#v", f)
					}
					done = true
				default:
					t.Fatalf("receiver got %#v", f)
				}
			}
			t.Logf("received %d of %d, %d dropped", len(seqs), n, reported)
			if len(seqs) == n || reported == 0 {
				t.Fatalf("received %d of %d, %s %d: want gaps", len(seqs), n, wire.DroppedHeader, reported)
			}
			if uint64(len(seqs))+reported != n {
				t.Fatalf("received %d + dropped %d, want %d", len(seqs), reported, n)
			}
			if len(seqs) < limit {
				t.Fatalf("received only %d", len(seqs))
			}
			tt.check(t, seqs)
			if sc := b.Stats().SlowConsumers; sc != 0 {
				t.Fatalf("slow consumers = %d, want 0", sc)
			}
			if peak := peakPending(g, "slow"); peak > testConfig().MaxPending {
				t.Fatalf("peak pending %d passed MaxPending", peak)
			}
		})
	}
}

func peakPending(g *Gateway, id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		c.mu.Lock()
		found := c.ep != nil && c.ep.ID() == id
		c.mu.Unlock()
		if found {
			return c.PeakPending()
		}
	}
	return -1
}
