package logstore

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"time"
)

// A record on disk is a frame:
//
//	length u32 | crc32c u32 | seq u64 | unix-nanos i64 | subject | headers | payload | msgid
//
// little-endian; length counts the bytes after the crc (the body), the crc
// (Castagnoli) covers the body, and the four variable fields are each a
// uvarint length followed by that many bytes.
const (
	frameHeader = 8                // length + crc
	bodyFixed   = 16               // seq + time
	minBody     = bodyFixed + 4    // four empty fields
	peekBytes   = frameHeader + 16 // enough to read length, crc, seq, time
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decoding failures. errTruncated means the bytes end inside the frame.
var (
	errTruncated = errors.New("truncated record")
	errBadLength = errors.New("implausible record length")
	errBadCRC    = errors.New("checksum mismatch")
	errBadFields = errors.New("malformed record fields")
)

// Size returns the encoded size of r in bytes: what it occupies in a
// segment, and what State.Bytes and ReadBatch's maxBytes count.
func (r Record) Size() int {
	return frameHeader + bodyFixed +
		fieldSize(len(r.Subject)) + fieldSize(len(r.Headers)) +
		fieldSize(len(r.Payload)) + fieldSize(len(r.MsgID))
}

func fieldSize(n int) int { return uvarintLen(uint64(n)) + n }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// appendRecord appends r's frame to dst.
func appendRecord(dst []byte, r *Record) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = binary.LittleEndian.AppendUint64(dst, r.Seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Time.UnixNano()))
	dst = appendField(dst, r.Subject)
	dst = appendField(dst, r.Headers)
	dst = appendField(dst, r.Payload)
	dst = appendField(dst, r.MsgID)
	body := dst[start+frameHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

func appendField[T string | []byte](dst []byte, f T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(f)))
	return append(dst, f...)
}

// frameSize returns the size of the frame starting at b from its length
// field, or an error when b is too short to tell or the length is
// implausible.
func frameSize(b []byte) (int, error) {
	if len(b) < frameHeader {
		return 0, errTruncated
	}
	n := binary.LittleEndian.Uint32(b)
	if n < minBody || n > MaxRecordBytes-frameHeader {
		return 0, errBadLength
	}
	return frameHeader + int(n), nil
}

// peekSeq returns the unverified sequence and time of the frame at b.
func peekSeq(b []byte) (seq uint64, nanos int64) {
	return binary.LittleEndian.Uint64(b[8:]), int64(binary.LittleEndian.Uint64(b[16:]))
}

// decodeRecord decodes the frame at the start of b, verifying its checksum,
// and returns the record and the frame size. The record owns its memory.
func decodeRecord(b []byte) (Record, int, error) {
	n, err := frameSize(b)
	if err != nil {
		return Record{}, 0, err
	}
	if len(b) < n {
		return Record{}, 0, errTruncated
	}
	body := b[frameHeader:n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return Record{}, 0, errBadCRC
	}
	r, err := decodeBody(body)
	return r, n, err
}

func decodeBody(body []byte) (Record, error) {
	var r Record
	r.Seq = binary.LittleEndian.Uint64(body)
	r.Time = time.Unix(0, int64(binary.LittleEndian.Uint64(body[8:]))).UTC()
	rest := body[bodyFixed:]
	var fields [4][]byte
	for i := range fields {
		f, tail, ok := cutField(rest)
		if !ok {
			return Record{}, errBadFields
		}
		fields[i], rest = f, tail
	}
	if len(rest) != 0 {
		return Record{}, errBadFields
	}
	r.Subject = string(fields[0])
	r.MsgID = string(fields[3])
	if n := len(fields[1]) + len(fields[2]); n > 0 {
		buf := make([]byte, n)
		copy(buf, fields[1])
		copy(buf[len(fields[1]):], fields[2])
		r.Headers = nilIfEmpty(buf[:len(fields[1]):len(fields[1])])
		r.Payload = nilIfEmpty(buf[len(fields[1]):])
	}
	return r, nil
}

// cutField splits a canonical uvarint-length-prefixed field off b.
func cutField(b []byte) (field, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintLen(n) || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	end := k + int(n)
	return b[k:end], b[end:], true
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// validFrame reports whether the complete frame b has a matching checksum
// and well-formed fields, without copying them.
func validFrame(b []byte) bool {
	body := b[frameHeader:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return false
	}
	rest := body[bodyFixed:]
	for range 4 {
		var ok bool
		if _, rest, ok = cutField(rest); !ok {
			return false
		}
	}
	return len(rest) == 0
}
