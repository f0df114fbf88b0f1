package ferry

import (
	"context"
	"fmt"
)

// Frames that want an answer (SUB, and PUB from Send and Request) carry a
// Ref; the server answers OK or ERR with the same Ref. Waiters are kept in
// Conn.refs until the answer arrives, the caller gives up, or the
// connection is lost (then they fail with ErrDisconnected).

// addRef registers a waiter for the answer to ref.
func (c *Conn) addRef(ref uint64) chan refResult {
	ch := make(chan refResult, 1)
	c.refMu.Lock()
	c.refs[ref] = ch
	c.refMu.Unlock()
	return ch
}

// dropRef forgets the waiter for ref; a late answer is ignored.
func (c *Conn) dropRef(ref uint64) {
	c.refMu.Lock()
	delete(c.refs, ref)
	c.refMu.Unlock()
}

// resolveRef delivers the answer to ref, if anyone still waits for it.
func (c *Conn) resolveRef(ref uint64, res refResult) {
	c.refMu.Lock()
	ch := c.refs[ref]
	delete(c.refs, ref)
	c.refMu.Unlock()
	if ch != nil {
		ch <- res
	}
}

// failRefs fails every waiting call with err.
func (c *Conn) failRefs(err error) {
	c.refMu.Lock()
	refs := c.refs
	c.refs = map[uint64]chan refResult{}
	c.refMu.Unlock()
	for _, ch := range refs {
		ch <- refResult{err: err}
	}
}

// awaitRef waits for the answer to ref, or ctx.
func (c *Conn) awaitRef(ctx context.Context, ref uint64, ch chan refResult) (refResult, error) {
	select {
	case res := <-ch:
		return res, res.err
	case <-ctx.Done():
		c.dropRef(ref)
		return refResult{}, ctxErr(ctx)
	}
}

// ctxErr is the error for a call whose ctx ended: it matches both
// ErrTimeout and ctx.Err().
func ctxErr(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
}
