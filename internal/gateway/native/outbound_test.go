package native

import (
	"io"
	"net"
	"testing"

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
