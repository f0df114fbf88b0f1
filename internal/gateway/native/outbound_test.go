package native

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
)

// TestFlushKeepsBuffers: the flusher swaps the outbound buffer with its
// spare for every write, and a kick that finds nothing queued must keep
// both, or the next burst regrows the outbound buffer from nothing.
func TestFlushKeepsBuffers(t *testing.T) {
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	go io.Copy(io.Discard, client)
	c := newConn(New(broker.New(broker.Config{}), testConfig()), server)
	go c.flushLoop()
	const size = 64 << 10
	m := &broker.Message{Subject: []byte("s"), Payload: make([]byte, size)}
	kicks := []struct {
		name    string
		deliver bool
	}{
		{"write", true},
		{"write again", true},
		{"empty kick", false},
		{"empty kick again", false},
	}
	for _, k := range kicks {
		if k.deliver {
			if !c.Deliver(1, m) { // queues the frame and kicks the flusher
				t.Fatalf("%s: not delivered", k.name)
			}
		}
		c.kick <- struct{}{} // a second kick: returns once the flusher took the first
		c.kick <- struct{}{} // ... and this one once it took the second
	}
	close(c.kick)
	<-c.flushDone
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(c.out) < size || cap(c.spare) < size {
		t.Errorf("after empty kicks: out %d, spare %d bytes of capacity, want both ≥ %d", cap(c.out), cap(c.spare), size)
	}
	if c.pending != 0 {
		t.Errorf("pending = %d, want 0", c.pending)
	}
}

func TestKeepSpare(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPending = 32 << 20
	c := newConn(New(broker.New(broker.Config{}), cfg), nil)
	tests := []struct {
		name     string
		capacity int
		used     int
		want     bool
	}{
		{"small", 64 << 10, 10, true},
		{"at maxSpare, barely used", maxSpare, 1, true},
		{"burst, well used", 24 << 20, 20 << 20, true},
		{"burst up to twice MaxPending", 64 << 20, 32 << 20, true},
		{"above twice MaxPending", 64<<20 + 1, 32 << 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.keepSpare(tt.capacity, tt.used); got != tt.want {
				t.Errorf("keepSpare(%d, %d) = %v, want %v", tt.capacity, tt.used, got, tt.want)
			}
		})
	}
	// A big buffer that writes keep using little is released after
	// burstSmallWrites of them.
	kept := 0
	for c.keepSpare(24<<20, 1) {
		if kept++; kept > burstSmallWrites {
			t.Fatalf("still kept after %d small writes", kept)
		}
	}
	if kept != burstSmallWrites {
		t.Errorf("released after %d small writes, want %d", kept, burstSmallWrites)
	}
}

// TestWriteLeavesPendingByChunk: a buffer bigger than maxWriteChunk is
// written in chunks, and each written chunk leaves pending at once, so a
// reader taking a large burst is not counted as holding all of it until
// the last byte is out.
func TestWriteLeavesPendingByChunk(t *testing.T) {
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	cfg := testConfig()
	cfg.MaxPending = 64 << 20
	c := newConn(New(broker.New(broker.Config{}), cfg), server)
	go c.flushLoop()
	const size = 2*maxWriteChunk + 1000
	m := &broker.Message{Subject: []byte("s"), Payload: make([]byte, size)}
	if !c.Deliver(1, m) { // queues the frame and kicks the flusher
		t.Fatal("not delivered")
	}
	pending := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pending
	}
	start := pending()
	if start < size {
		t.Fatalf("pending %d before the write, want at least %d", start, size)
	}
	// net.Pipe is unbuffered: each Write returns once read. Read the first
	// chunk whole; pending must drop by it while the rest is unread.
	if _, err := io.ReadFull(client, make([]byte, maxWriteChunk)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pending() != start-maxWriteChunk {
		if time.Now().After(deadline) {
			t.Fatalf("pending %d after one chunk was read, want %d", pending(), start-maxWriteChunk)
		}
		runtime.Gosched()
	}
	if _, err := io.CopyN(io.Discard, client, int64(start-maxWriteChunk)); err != nil {
		t.Fatal(err)
	}
	close(c.kick)
	<-c.flushDone
	if p := pending(); p != 0 {
		t.Fatalf("pending %d after the whole burst was read, want 0", p)
	}
}
