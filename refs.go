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
	c.addRefChan(ref, ch)
	return ch
}

// addRefChan registers ch, which must be empty and have capacity 1, as the
// waiter for the answer to ref. The answer is sent while refMu is held, so
// once dropRef returns nothing more is sent on ch: a caller may then
// drain ch and reuse it.
func (c *Conn) addRefChan(ref uint64, ch chan refResult) {
	c.refMu.Lock()
	c.refs[ref] = ch
	c.refMu.Unlock()
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
	if ch := c.refs[ref]; ch != nil {
		delete(c.refs, ref)
		ch <- res // never blocks: capacity 1, one answer per registration
	}
	c.refMu.Unlock()
}

// failRefs fails every waiting call with err.
func (c *Conn) failRefs(err error) {
	c.refMu.Lock()
	refs := c.refs
	c.refs = map[uint64]chan refResult{}
	for _, ch := range refs {
		ch <- refResult{err: err} // never blocks, see resolveRef
	}
	c.refMu.Unlock()
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
