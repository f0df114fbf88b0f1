package logstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
	"github.com/ferrymq/ferry/internal/logstore"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, dir string, cfg logstore.Config) *logstore.FileLog {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(t0)
	}
	l, err := logstore.OpenFile(dir, cfg)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func closeLog(t *testing.T, l *logstore.FileLog) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func rec(i int) logstore.Record {
	return logstore.Record{Subject: fmt.Sprintf("t.%d", i), Payload: []byte(fmt.Sprintf("payload-%06d", i))}
}

func appendRecs(t *testing.T, l logstore.Storage, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		seq, _, err := l.Append(context.Background(), rec(i))
		if err != nil || seq != uint64(i) {
			t.Fatalf("Append(%d) = %d, %v", i, seq, err)
		}
	}
}

// checkRecs checks that records from..to read back as rec(i).
func checkRecs(t *testing.T, l logstore.Storage, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		r, err := l.Read(uint64(i))
		if err != nil || r.Seq != uint64(i) || string(r.Payload) != string(rec(i).Payload) {
			t.Fatalf("Read(%d) = %d %q, %v", i, r.Seq, r.Payload, err)
		}
	}
}

// segFiles returns the segment files in dir, oldest first.
func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// frame is one record's place in a segment, found by walking length fields
// as docs/logs.md describes them.
type frame struct {
	off, size int64
	seq       uint64
}

func frames(t *testing.T, path string) []frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []frame
	for off := 0; off+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off:])) + 8
		if off+n > len(b) {
			break
		}
		out = append(out, frame{off: int64(off), size: int64(n), seq: binary.LittleEndian.Uint64(b[off+8:])})
		off += n
	}
	return out
}

// flip inverts n bytes of path at off.
func flip(t *testing.T, path string, off int64, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b[off+int64(i)] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, extra []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(extra); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func hasSuffix(names []string, suffix string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}
