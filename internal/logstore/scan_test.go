package logstore

import (
	"bytes"
	"testing"
	"time"
)

func segmentBytes(n int) []byte {
	var b []byte
	for i := 1; i <= n; i++ {
		b = appendRecord(b, &Record{Seq: uint64(i), Time: time.Unix(0, int64(i)), Subject: "s", Payload: bytes.Repeat([]byte{byte(i)}, i*7%40)})
	}
	return b
}

// FuzzScan walks arbitrary bytes as a segment, both as a tail and sealed:
// it must not panic and what it reports must be consistent.
func FuzzScan(f *testing.F) {
	good := segmentBytes(20)
	f.Add(good, uint16(0), uint8(0))
	f.Add(good, uint16(100), uint8(3))
	f.Add(good, uint16(len(good)-3), uint8(200))
	f.Fuzz(func(t *testing.T, b []byte, at uint16, x uint8) {
		b = bytes.Clone(b)
		if int(at) < len(b) {
			b[at] ^= x
		}
		for _, every := range []int{1, 64} {
			c := newCursor(bytes.NewReader(b), int64(len(b)), make([]byte, 64), 64)
			tail, err := scanTail(c, 1, every)
			if err != nil || tail.end > int64(len(b)) || len(tail.damaged) != 0 || tail.last != tail.msgs {
				t.Fatalf("tail scan: %+v, %v", tail, err)
			}
			c = newCursor(bytes.NewReader(b), int64(len(b)), make([]byte, 64), 64)
			sealed, err := scanSealed(c, 1, 30, every)
			if err != nil || sealed.last >= 30 || sealed.msgs < tail.msgs {
				t.Fatalf("sealed scan: %+v (tail %+v), %v", sealed, tail, err)
			}
			checkIndex(t, sealed.index, int64(len(b)))
		}
	})
}

func checkIndex(t *testing.T, idx []indexEntry, size int64) {
	t.Helper()
	if len(idx) == 0 {
		return
	}
	if _, err := decodeIndex(encodeIndex(idx), size); err != nil {
		t.Fatalf("scan built an index its decoder rejects: %v", err)
	}
}

// FuzzIndex decodes arbitrary index files: what decodes re-encodes to the
// same bytes.
func FuzzIndex(f *testing.F) {
	f.Add(encodeIndex([]indexEntry{{1, 0, 5}, {9, 4096, 7}}))
	f.Add([]byte("FIX1\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := decodeIndex(b, 1<<20)
		if err == nil && !bytes.Equal(encodeIndex(idx), b) {
			t.Fatalf("re-encoded index differs")
		}
	})
}

// TestScanResync checks resynchronisation on a damaged sealed segment
// finds every record after the damage.
func TestScanResync(t *testing.T) {
	b := segmentBytes(20)
	c := newCursor(bytes.NewReader(b), int64(len(b)), make([]byte, 64), 64)
	clean, _ := scanSealed(c, 1, 21, 64)
	off := clean.index[2].off // damage the record of the third index entry
	b[off+9] ^= 0xff
	c = newCursor(bytes.NewReader(b), int64(len(b)), make([]byte, 64), 64)
	res, err := scanSealed(c, 1, 21, 64)
	seq := clean.index[2].seq
	if err != nil || res.last != 20 || res.msgs != 19 || len(res.damaged) != 1 || res.damaged[0] != (Range{seq, seq}) {
		t.Fatalf("scan %+v, %v; want seq %d damaged", res, err, seq)
	}
}
