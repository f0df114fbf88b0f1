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
