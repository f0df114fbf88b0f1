package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/server"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startTornServer(t *testing.T, dir string, logs *syncBuffer) (*server.Server, *ferry.Conn) {
	t.Helper()
	s, err := server.New(server.Options{Listen: "127.0.0.1:0", DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // a second Shutdown after stopTornServer is harmless
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return s, nc
}

func stopTornServer(t *testing.T, s *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func tornPayload(i int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("record-%d;", i), 1+i%7))
}

// frameEnds returns the end offset of each record in a segment file, read
// from the length fields docs/logs.md describes (u32 length of the body
// after the 8-byte length+crc header).
func frameEnds(t *testing.T, b []byte) []int64 {
	t.Helper()
	var ends []int64
	for off := 0; off+8 <= len(b); {
		off += 8 + int(binary.LittleEndian.Uint32(b[off:]))
		ends = append(ends, int64(off))
	}
	if len(ends) == 0 || ends[len(ends)-1] != int64(len(b)) {
		t.Fatalf("segment of %d bytes does not parse as whole records", len(b))
	}
	return ends
}

// TestTornSegmentThroughServer stores records through a real server and
// client, stops the server, damages the log's active segment (cut at a
// random offset, or random bytes flipped in its tail), restarts it and
// checks through the client that every record before the damage is
// intact, the rest are gone rather than corrupt, the damage is logged,
// and the log still takes durable publishes.
func TestTornSegmentThroughServer(t *testing.T) {
	const records = 40
	rng := rand.New(rand.NewPCG(20261204, 6))
	cases := []struct {
		name  string
		flips int // 0: cut
	}{
		{"cut-1", 0}, {"cut-2", 0}, {"cut-3", 0},
		{"flip-1", 1}, {"flip-3", 3}, {"flip-8", 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := &syncBuffer{}
			s, nc := startTornServer(t, dir, logs)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := nc.CreateLog(ctx, ferry.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, Sync: ferry.SyncAlways}); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= records; i++ {
				ack, err := nc.PublishDurable(ctx, "orders.eu", tornPayload(i))
				if err != nil || ack.Seq != uint64(i) {
					t.Fatalf("PublishDurable %d: %+v, %v", i, ack, err)
				}
			}
			nc.Close()
			stopTornServer(t, s)

			seg := filepath.Join(dir, "logs", "orders", fmt.Sprintf("%020d.seg", 1))
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			ends := frameEnds(t, b)
			// Damage somewhere in the last half of the records, never on a
			// record boundary, so that there is always something to report.
			from := ends[records/2-1]
			at := from + 1 + rng.Int64N(int64(len(b))-from-1)
			flipped := map[int64]bool{}
			if tc.flips == 0 {
				b = b[:at]
			} else {
				b[at] ^= byte(1 + rng.IntN(255))
				for range tc.flips - 1 {
					if at+1 < int64(len(b)) {
						off := at + 1 + rng.Int64N(int64(len(b))-at-1)
						b[off] ^= 0xff
						flipped[off] = !flipped[off]
					}
				}
			}
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			intact := 0 // records ending at or before the first damaged byte
			for intact < len(ends) && ends[intact] <= at {
				intact++
			}
			t.Logf("damage at byte %d of %d: %d records before it", at, len(b), intact)

			s, nc = startTornServer(t, dir, logs)
			info, err := nc.LogInfo(ctx, "orders")
			if err != nil {
				t.Fatal(err)
			}
			if info.LastSeq != uint64(intact) || info.ReadOnly != "" {
				t.Fatalf("after restart: last seq %d, read-only %q; want %d records, writable", info.LastSeq, info.ReadOnly, intact)
			}
			got := fetchAll(ctx, t, nc)
			if len(got) != intact {
				t.Fatalf("fetched %d records, want %d", len(got), intact)
			}
			for i, r := range got {
				if r.Seq != uint64(i+1) || !bytes.Equal(r.Data, tornPayload(i+1)) {
					t.Fatalf("record %d: seq %d data %q", i+1, r.Seq, r.Data)
				}
			}
			if !strings.Contains(logs.String(), "truncating torn tail") {
				t.Fatalf("damage not reported; server log:\n%s", logs.String())
			}
			if tc.flips > 0 && validAfter(ends, intact, flipped) {
				// valid records follow the damage: kept aside, not just dropped
				if m, _ := filepath.Glob(seg + ".*.torn"); len(m) != 1 {
					t.Fatalf("no .torn file for damage followed by valid records: %v", m)
				}
			}

			ack, err := nc.PublishDurable(ctx, "orders.eu", []byte("after"))
			if err != nil || ack.Seq != uint64(intact+1) {
				t.Fatalf("PublishDurable after recovery: %+v, %v; want seq %d", ack, err, intact+1)
			}
			recs, err := nc.Fetch(ctx, ferry.ConsumerConfig{Log: "orders", Start: fmt.Sprintf("seq:%d", intact+1), Ack: "none"}, 10, 0)
			if err != nil || len(recs) != 1 || string(recs[0].Data) != "after" {
				t.Fatalf("Fetch the new record: %d records, %v", len(recs), err)
			}
		})
	}
}

// fetchAll reads the log "orders" from the start with ephemeral fetches.
func fetchAll(ctx context.Context, t *testing.T, nc *ferry.Conn) []*ferry.LogRecord {
	t.Helper()
	var out []*ferry.LogRecord
	for {
		recs, err := nc.Fetch(ctx, ferry.ConsumerConfig{Log: "orders", Start: fmt.Sprintf("seq:%d", len(out)+1), Ack: "none"}, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

// validAfter reports whether a record after the first damaged one (index
// intact) has none of its bytes flipped.
func validAfter(ends []int64, intact int, flipped map[int64]bool) bool {
	for i := intact + 1; i < len(ends); i++ {
		hit := false
		for off, on := range flipped {
			hit = hit || on && off >= ends[i-1] && off < ends[i]
		}
		if !hit {
			return true
		}
	}
	return false
}
