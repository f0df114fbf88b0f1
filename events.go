package ferry

import "sync"

// events runs the user's error and state callbacks, in order, on one
// goroutine of their own, so that a callback may block or call back into
// the Conn (Flush, Close) without stalling the read loop.
type events struct {
	mu     sync.Mutex // guards queue and closed
	queue  []func()
	closed bool
	kick   chan struct{} // wakes loop; capacity 1
	done   chan struct{} // closed when loop has exited
}

func newEvents() *events {
	return &events{kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues fn; after close it is dropped.
func (e *events) push(fn func()) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.queue = append(e.queue, fn)
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// close stops accepting callbacks; loop exits after running those queued.
func (e *events) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *events) loop() {
	defer close(e.done)
	var batch []func()
	for {
		e.mu.Lock()
		batch, e.queue = e.queue, batch[:0]
		closed := e.closed
		e.mu.Unlock()
		for i, fn := range batch {
			fn()
			batch[i] = nil
		}
		if closed && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-e.kick
		}
	}
}
