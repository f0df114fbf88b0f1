package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
)

// An index file (.idx) beside a sealed segment holds sparse entries:
//
//	"FIX1" | crc32c u32 over the entries | entries
//
// each entry 24 bytes: seq u64 | offset u64 | unix-nanos i64, little-endian.
// The first record of a segment, the first record after damage, and then
// every record starting at least IndexEvery bytes after the previous
// entry's record get an entry. It is derived data: rebuilt from the
// segment whenever missing or inconsistent.
type indexEntry struct {
	seq   uint64
	off   int64
	nanos int64
}

const (
	idxMagic     = "FIX1"
	idxHeader    = 8
	idxEntrySize = 24
)

var errBadIndex = errors.New("inconsistent index")

func encodeIndex(entries []indexEntry) []byte {
	b := make([]byte, idxHeader, idxHeader+len(entries)*idxEntrySize)
	copy(b, idxMagic)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint64(b, e.seq)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.off))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.nanos))
	}
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[idxHeader:], castagnoli))
	return b
}

// decodeIndex parses an index file and checks that its entries are
// ordered and lie within a segment of segSize bytes.
func decodeIndex(b []byte, segSize int64) ([]indexEntry, error) {
	if len(b) < idxHeader || string(b[:4]) != idxMagic || (len(b)-idxHeader)%idxEntrySize != 0 {
		return nil, errBadIndex
	}
	body := b[idxHeader:]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, errBadIndex
	}
	entries := make([]indexEntry, 0, len(body)/idxEntrySize)
	for ; len(body) > 0; body = body[idxEntrySize:] {
		e := indexEntry{
			seq:   binary.LittleEndian.Uint64(body),
			off:   int64(binary.LittleEndian.Uint64(body[8:])),
			nanos: int64(binary.LittleEndian.Uint64(body[16:])),
		}
		if e.off < 0 || e.off >= segSize {
			return nil, errBadIndex
		}
		if n := len(entries); n > 0 {
			p := entries[n-1]
			if e.seq <= p.seq || e.off <= p.off || e.nanos < p.nanos {
				return nil, errBadIndex
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// loadIndex reads and decodes the index file beside a segment.
func loadIndex(fsys FS, name string, segSize int64) ([]indexEntry, error) {
	b, err := readFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return decodeIndex(b, segSize)
}

// writeIndex replaces the index file name atomically: a temporary file,
// fsynced, then renamed over it. A crash leaves the old index or the new.
func writeIndex(fsys FS, name string, entries []indexEntry) error {
	tmp := name + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("logstore: write index: %w", err)
	}
	_, err = f.Write(encodeIndex(entries))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("logstore: write index %s: %w", name, err)
	}
	return nil
}

func readFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		err = nil
	}
	return b[:n], err
}

func sameIndex(a, b []indexEntry) bool { return slices.Equal(a, b) }
