package logstore

// minFrame is the size of the smallest possible frame.
const minFrame = frameHeader + minBody

// scanResult is what walking a segment found.
type scanResult struct {
	end       int64  // offset just past the last good record
	last      uint64 // last good sequence; base-1 when none
	msgs      uint64
	firstTime int64
	lastTime  int64
	index     []indexEntry
	damaged   []Range // sequences skipped between good records
	badAt     int64   // tail scans: offset of the first bad record, or -1
}

// scanSealed walks a sealed segment whose sequences must lie below
// limitSeq. Past a bad record it resynchronises on the next frame whose
// length, checksum and sequence are consistent, so no valid record is lost.
func scanSealed(c *cursor, base, limitSeq uint64, every int) (scanResult, error) {
	return scan(c, base, limitSeq, int64(every), true)
}

// scanTail walks the last segment and stops at its first bad record: the
// start of a torn tail.
func scanTail(c *cursor, base uint64, every int) (scanResult, error) {
	return scan(c, base, ^uint64(0), int64(every), false)
}

func scan(c *cursor, base, limitSeq uint64, every int64, resync bool) (scanResult, error) {
	res := scanResult{last: base - 1, badAt: -1}
	expect, off, lastIdx, forceIdx := base, int64(0), int64(0), true
	for off < c.limit {
		size, seq, nanos, ok, err := c.header(off)
		if err != nil {
			return res, err
		}
		ok = ok && seq < limitSeq && (seq == expect || resync && seq > expect)
		if ok {
			if _, ok, err = c.frame(off, size); err != nil {
				return res, err
			}
		}
		if !ok {
			if !resync {
				res.badAt = off
				return res, nil
			}
			next, found, err := resyncFrom(c, off+1, expect, limitSeq)
			if err != nil || !found {
				return res, err
			}
			off, forceIdx = next, true
			continue
		}
		if seq > expect {
			res.damaged = append(res.damaged, Range{First: expect, Last: seq - 1})
			forceIdx = true
		}
		if forceIdx || off-lastIdx >= every {
			res.index = append(res.index, indexEntry{seq: seq, off: off, nanos: nanos})
			lastIdx, forceIdx = off, false
		}
		if res.msgs == 0 {
			res.firstTime = nanos
		}
		res.msgs++
		res.lastTime, res.last, expect = nanos, seq, seq+1
		off += int64(size)
		res.end = off
	}
	return res, nil
}

// resyncFrom looks from offset from onwards for the next frame with a
// valid checksum and a sequence in [expect, limitSeq).
func resyncFrom(c *cursor, from int64, expect, limitSeq uint64) (int64, bool, error) {
	for o := from; o+minFrame <= c.limit; o++ {
		size, seq, _, ok, err := c.header(o)
		if err != nil {
			return 0, false, err
		}
		if !ok || seq < expect || seq >= limitSeq {
			continue
		}
		if _, ok, err = c.frame(o, size); err != nil || ok {
			return o, ok, err
		}
	}
	return 0, false, nil
}

// laterRecord reports whether a valid record follows a bad one at badAt in
// a tail: then the bad bytes are damage, not merely a torn write.
func laterRecord(c *cursor, badAt int64, expect uint64) (bool, error) {
	bound := expect + uint64(c.limit-badAt)/minFrame + 1
	_, found, err := resyncFrom(c, badAt+1, expect, bound)
	return found, err
}
