package logstore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferrymq/ferry/internal/logstore"
)

// TestTornTail damages the end of the last segment in the ways a crash
// can and checks reopen keeps every record before the damage, cuts the
// rest, and appends continue from there.
func TestTornTail(t *testing.T) {
	const n = 20
	tests := []struct {
		name     string
		damage   func(t *testing.T, seg string, fr []frame)
		wantLast int
		wantTorn bool // a .torn copy is kept: valid records followed the damage
	}{
		{"garbage", func(t *testing.T, seg string, _ []frame) {
			appendBytes(t, seg, bytes.Repeat([]byte{0xab}, 37))
		}, n, false},
		{"partial record", func(t *testing.T, seg string, fr []frame) {
			b, _ := os.ReadFile(seg)
			last := fr[len(fr)-1]
			appendBytes(t, seg, b[last.off:last.off+last.size-5])
		}, n, false},
		{"partial header", func(t *testing.T, seg string, _ []frame) {
			appendBytes(t, seg, []byte{40, 0, 0})
		}, n, false},
		{"huge length", func(t *testing.T, seg string, _ []frame) {
			appendBytes(t, seg, binary.LittleEndian.AppendUint32(nil, 1<<31))
		}, n, false},
		{"zeros", func(t *testing.T, seg string, _ []frame) {
			appendBytes(t, seg, make([]byte, 4096))
		}, n, false},
		{"bad crc in last record", func(t *testing.T, seg string, fr []frame) {
			flip(t, seg, fr[len(fr)-1].off+30, 1)
		}, n - 1, false},
		{"damage mid segment", func(t *testing.T, seg string, fr []frame) {
			flip(t, seg, fr[9].off+30, 1)
		}, 9, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir, logstore.Config{})
			appendRecs(t, l, 1, n)
			closeLog(t, l)
			seg := segFiles(t, dir)[0]
			fr := frames(t, seg)
			tc.damage(t, seg, fr)

			l = open(t, dir, logstore.Config{})
			st := l.State()
			if st.LastSeq != uint64(tc.wantLast) || st.Msgs != uint64(tc.wantLast) || len(st.Damaged) != 0 {
				t.Fatalf("after recovery: %+v, want last %d", st, tc.wantLast)
			}
			checkRecs(t, l, 1, tc.wantLast)
			wantSize := fr[tc.wantLast-1].off + fr[tc.wantLast-1].size
			if got := fileSize(t, seg); got != wantSize {
				t.Fatalf("segment size %d, want truncated to %d", got, wantSize)
			}
			torn, _ := filepath.Glob(seg + ".*.torn")
			if (len(torn) > 0) != tc.wantTorn {
				t.Fatalf("torn copies %v, want kept=%v", torn, tc.wantTorn)
			}
			appendRecs(t, l, tc.wantLast+1, tc.wantLast+5)
			closeLog(t, l)
			l = open(t, dir, logstore.Config{})
			checkRecs(t, l, 1, tc.wantLast+5)
		})
	}
}

// sealedLog writes n records over small segments and returns the dir and
// the segment files.
func sealedLog(t *testing.T, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	l := open(t, dir, logstore.Config{MaxSegmentBytes: 1 << 10, IndexEvery: 128, Sync: logstore.SyncPolicy{Mode: logstore.SyncNever}})
	appendRecs(t, l, 1, n)
	closeLog(t, l)
	segs := segFiles(t, dir)
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	return dir, segs
}

// TestSealedDamage flips bytes inside records of a sealed segment and
// checks reopen reports exactly the damaged sequences while every other
// record, including those after the damage in the same segment, reads back.
func TestSealedDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, seg string, fr []frame) logstore.Range
	}{
		{"payload byte", func(t *testing.T, seg string, fr []frame) logstore.Range {
			f := fr[len(fr)/2]
			flip(t, seg, f.off+f.size-3, 1)
			return logstore.Range{First: f.seq, Last: f.seq}
		}},
		{"length field", func(t *testing.T, seg string, fr []frame) logstore.Range {
			f := fr[len(fr)/2]
			flip(t, seg, f.off+1, 1)
			return logstore.Range{First: f.seq, Last: f.seq}
		}},
		{"two records", func(t *testing.T, seg string, fr []frame) logstore.Range {
			f := fr[2]
			flip(t, seg, f.off+10, int(f.size+8))
			return logstore.Range{First: f.seq, Last: f.seq + 1}
		}},
		{"first record", func(t *testing.T, seg string, fr []frame) logstore.Range {
			flip(t, seg, 4, 1)
			return logstore.Range{First: fr[0].seq, Last: fr[0].seq}
		}},
		{"last record", func(t *testing.T, seg string, fr []frame) logstore.Range {
			f := fr[len(fr)-1]
			flip(t, seg, f.off+f.size-1, 1)
			return logstore.Range{First: f.seq, Last: f.seq}
		}},
	}
	for _, trust := range []bool{false, true} {
		for _, tc := range tests {
			name := tc.name
			if trust {
				name += "/trust sealed"
			}
			t.Run(name, func(t *testing.T) {
				const n = 200
				dir, segs := sealedLog(t, n)
				seg := segs[1]
				bad := tc.damage(t, seg, frames(t, seg))
				damaged, _ := os.ReadFile(seg)

				l := open(t, dir, logstore.Config{TrustSealed: trust})
				if trust { // found on first read, then reported
					_, err := l.Read(bad.First)
					checkCorrupt(t, err, bad.First)
				}
				st := l.State()
				if !slices.Equal(st.Damaged, []logstore.Range{bad}) {
					t.Fatalf("Damaged = %v, want [%v]", st.Damaged, bad)
				}
				if want := uint64(n) - (bad.Last - bad.First + 1); st.Msgs != want || st.LastSeq != n {
					t.Fatalf("state %+v, want %d msgs", st, want)
				}
				for seq := bad.First; seq <= bad.Last; seq++ {
					_, err := l.Read(seq)
					checkCorrupt(t, err, seq)
				}
				checkRecs(t, l, 1, int(bad.First)-1)
				checkRecs(t, l, int(bad.Last)+1, n)
				checkBatchAround(t, l, bad)
				if got, err := l.SeqForTime(t0); err != nil || got != 1 {
					t.Fatalf("SeqForTime = %d, %v", got, err)
				}
				if after, _ := os.ReadFile(seg); !bytes.Equal(after, damaged) {
					t.Fatal("recovery modified a sealed segment")
				}
				appendRecs(t, l, n+1, n+3)
			})
		}
	}
}

func checkCorrupt(t *testing.T, err error, seq uint64) {
	t.Helper()
	var ce *logstore.CorruptError
	if !errors.Is(err, logstore.ErrCorrupt) || !errors.As(err, &ce) || ce.Seq != seq {
		t.Fatalf("Read(%d) err = %v, want ErrCorrupt naming it", seq, err)
	}
}

// checkBatchAround reads across the damage: a batch stops before it, a
// batch starting on it reports it, a batch after it continues.
func checkBatchAround(t *testing.T, l logstore.Storage, bad logstore.Range) {
	t.Helper()
	if bad.First > 1 {
		recs, err := l.ReadBatch(1, 0, 0)
		if err != nil || len(recs) != int(bad.First-1) {
			t.Fatalf("ReadBatch up to damage = %d, %v; want %d", len(recs), err, bad.First-1)
		}
	}
	_, err := l.ReadBatch(bad.First, 10, 0)
	checkCorrupt(t, err, bad.First)
	recs, err := l.ReadBatch(bad.Last+1, 10, 0)
	if err != nil || len(recs) != 10 || recs[0].Seq != bad.Last+1 {
		t.Fatalf("ReadBatch after damage = %d, %v", len(recs), err)
	}
}

// TestMissingSegment deletes a sealed segment: its sequences are reported
// damaged, not silently skipped.
func TestMissingSegment(t *testing.T) {
	const n = 200
	dir, segs := sealedLog(t, n)
	fr := frames(t, segs[2])
	if err := os.Remove(segs[2]); err != nil {
		t.Fatal(err)
	}
	l := open(t, dir, logstore.Config{})
	want := logstore.Range{First: fr[0].seq, Last: fr[len(fr)-1].seq}
	if st := l.State(); !slices.Equal(st.Damaged, []logstore.Range{want}) {
		t.Fatalf("Damaged = %v, want [%v]", st.Damaged, want)
	}
	_, err := l.Read(want.First)
	checkCorrupt(t, err, want.First)
	checkRecs(t, l, int(want.Last)+1, n)
}

// TestIndexRebuild removes, corrupts and truncates index files; reopen
// rebuilds each to the same bytes, and reads work throughout.
func TestIndexRebuild(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(map[bool]string{false: "verify", true: "trust sealed"}[trust], func(t *testing.T) {
			const n = 300
			dir, segs := sealedLog(t, n)
			idx := func(i int) string { return segs[i][:len(segs[i])-len(".seg")] + ".idx" }
			orig := make(map[string][]byte)
			for i := range segs[:len(segs)-1] {
				b, err := os.ReadFile(idx(i))
				if err != nil {
					t.Fatalf("sealed segment without index: %v", err)
				}
				orig[idx(i)] = b
			}
			os.Remove(idx(0))
			flip(t, idx(1), 20, 1)
			os.Truncate(idx(2), 30)
			os.WriteFile(idx(3), []byte("nonsense"), 0o644)

			l := open(t, dir, logstore.Config{MaxSegmentBytes: 1 << 10, IndexEvery: 128, TrustSealed: trust})
			for name, want := range orig {
				if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s not rebuilt to the same bytes: %v", filepath.Base(name), err)
				}
			}
			checkRecs(t, l, 1, n)
			if st := l.State(); st.Msgs != n || len(st.Damaged) != 0 {
				t.Fatalf("state %+v", st)
			}
		})
	}
}
