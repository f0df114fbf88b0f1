package logstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferrymq/ferry/internal/clock"
)

// maxBatch bounds the appends one writer pass takes.
const maxBatch = 1024

// appendReq is one Append waiting for the writer.
type appendReq struct {
	ctx  context.Context
	rec  Record
	res  appendResult
	done chan appendResult // buffered: the writer never blocks on it
}

type appendResult struct {
	seq uint64
	dup bool
	err error
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan appendResult, 1)} }}

// writer is the writer goroutine's state; nothing else touches it while
// the goroutine runs.
type writer struct {
	l          *FileLog
	active     *segment
	size       int64  // bytes written to the active segment
	next       uint64 // next sequence to assign
	lastTime   time.Time
	firstNanos int64 // time of the active segment's first record
	lastIdxOff int64 // offset of the active segment's last index entry, -1 if none
	dirty      bool  // written since the last fsync
	dedupe     *dedupe
	timer      clock.Timer

	// the chunk being built: encoded but not yet written
	buf       []byte
	pendIdx   []indexEntry
	pendReqs  []*appendReq
	pendMsgs  uint64
	pendFirst int64 // time of the chunk's first record
}

// Append stores r; see Storage.
func (l *FileLog) Append(ctx context.Context, r Record) (uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if n := r.Size(); n > l.cfg.MaxRecordBytes {
		return 0, false, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, l.cfg.MaxRecordBytes)
	}
	if err := l.readOnlyErr(); err != nil {
		return 0, false, err
	}
	q := reqPool.Get().(*appendReq)
	q.ctx, q.rec = ctx, r
	select {
	case l.reqs <- q:
	case <-l.quit:
		putReq(q)
		return 0, false, ErrClosed
	case <-ctx.Done():
		putReq(q)
		return 0, false, ctx.Err()
	}
	select {
	case res := <-q.done:
		putReq(q)
		return res.seq, res.dup, res.err
	case <-ctx.Done():
		return 0, false, ctx.Err() // q stays with the writer; not reused
	}
}

func putReq(q *appendReq) {
	q.ctx, q.rec, q.res = nil, Record{}, appendResult{}
	reqPool.Put(q)
}

func (q *appendReq) reply(res appendResult) { q.done <- res }
