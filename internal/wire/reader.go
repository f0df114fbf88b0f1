package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Split takes the first frame off b. It returns the op, the body (aliasing
// b) and the rest. When b holds no whole frame yet it returns need > 0: the
// number of bytes the frame needs in all, with a nil error. A frame longer
// than max (or with no op byte) is an error.
func Split(b []byte, max int) (op Op, body, rest []byte, need int, err error) {
	if len(b) < HeaderSize {
		return 0, nil, b, HeaderSize, nil
	}
	n := binary.BigEndian.Uint32(b)
	if n == 0 {
		return 0, nil, b, 0, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	if uint64(n) > uint64(max) {
		return 0, nil, b, 0, fmt.Errorf("%w: %d bytes, limit is %d", ErrTooLarge, n, max)
	}
	total := HeaderSize + int(n)
	if len(b) < total {
		return 0, nil, b, total, nil
	}
	op = Op(b[HeaderSize])
	if !op.Valid() {
		return 0, nil, b, 0, fmt.Errorf("%w: unknown op %d", ErrMalformed, uint8(op))
	}
	return op, b[HeaderSize+1 : total : total], b[total:], 0, nil
}

// Reader reads frames from a byte stream, batching reads through its own
// buffer. A body returned by Next is valid until the following call.
type Reader struct {
	r     io.Reader
	max   int
	buf   []byte
	start int  // first unread byte in buf
	end   int  // end of data in buf
	grow  bool // the last read filled buf: grow it at the next compaction
}

// Read buffer sizes: a Reader starts small, so idle connections cost little,
// and doubles its buffer up to MaxReadBuffer while reads keep filling it, so
// a busy connection reads many frames per syscall.
const (
	DefaultReadBuffer = 4 << 10
	MaxReadBuffer     = 64 << 10
)

// NewReader returns a Reader that refuses frames longer than max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: r, max: max, buf: make([]byte, DefaultReadBuffer)}
}

// Buffered reports whether a whole frame is already buffered, so the next
// call to Next will not block.
func (r *Reader) Buffered() bool {
	_, _, _, need, err := Split(r.buf[r.start:r.end], r.max)
	return need == 0 || err != nil
}

// Next returns the next frame. It returns io.EOF on a clean end between
// frames and io.ErrUnexpectedEOF when the stream ends inside a frame.
func (r *Reader) Next() (Op, []byte, error) {
	for {
		op, body, _, need, err := Split(r.buf[r.start:r.end], r.max)
		if err != nil {
			return 0, nil, err
		}
		if need == 0 {
			r.start += HeaderSize + 1 + len(body)
			return op, body, nil
		}
		if err := r.fill(need); err != nil {
			return 0, nil, err
		}
	}
}

// fill reads until at least need unread bytes are buffered.
func (r *Reader) fill(need int) error {
	if r.start > 0 && (r.start == r.end || r.start+need > len(r.buf)) {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if need > len(r.buf) || r.grow {
		r.grow = false
		nb := make([]byte, max(need, min(2*len(r.buf), MaxReadBuffer)))
		r.end = copy(nb, r.buf[r.start:r.end])
		r.start = 0
		r.buf = nb
	}
	for r.end-r.start < need {
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if r.end == len(r.buf) && len(r.buf) < MaxReadBuffer {
			r.grow = true
		}
		if err != nil {
			if r.end-r.start >= need {
				return nil
			}
			if err == io.EOF && r.end > r.start {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}
