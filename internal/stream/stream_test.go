package stream

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestWindow(t *testing.T) {
	var w Window
	if err := w.Take(1); !errors.Is(err, ErrWindowExceeded) {
		t.Fatalf("take without grant: %v", err)
	}
	w.Grant(Credit{2, 100})
	if err := w.Take(60); err != nil {
		t.Fatal(err)
	}
	if w.Fits(41) || !w.Fits(40) {
		t.Fatal("Fits disagrees with byte room")
	}
	if err := w.Take(41); !errors.Is(err, ErrWindowExceeded) {
		t.Fatalf("over bytes: %v", err)
	}
	if err := w.Take(40); err != nil {
		t.Fatal(err)
	}
	if r := w.Room(); !r.IsZero() {
		t.Fatalf("room %+v", r)
	}
}

func TestFanoutPacesToSlowest(t *testing.T) {
	f := NewFanout()
	f.Add(1)
	f.Add(2)
	if d := f.Grant(1, Credit{10, 1000}); !d.IsZero() {
		t.Fatalf("one leg granted: sender got %+v", d)
	}
	if d := f.Grant(2, Credit{4, 2000}); d != (Credit{4, 1000}) {
		t.Fatalf("both granted: sender got %+v, want min {4 1000}", d)
	}
	for range 4 {
		if err := f.Send(10); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Blocked(1) {
		t.Fatal("sender not blocked after using its window")
	}
	f.Grant(1, Credit{0, 5000})
	if l, ok := f.Laggard(); !ok || l != 2 {
		t.Fatalf("laggard = %d %v, want leg 2", l, ok)
	}
	if d := f.Remove(2); d != (Credit{6, 4000}) {
		t.Fatalf("removing the laggard freed %+v", d)
	}
}

// TestFanoutNeverOverrunsALeg is a property test: whatever the grants and
// removals, the sender is never allowed past any live leg's grant.
func TestFanoutNeverOverrunsALeg(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 200 {
		f := NewFanout()
		grants := map[uint64]*Credit{}
		for leg := uint64(1); leg <= 4; leg++ {
			f.Add(leg)
			grants[leg] = &Credit{}
		}
		var sent Credit
		for range 300 {
			switch r.IntN(4) {
			case 0, 1:
				leg := uint64(1 + r.IntN(4))
				c := Credit{uint64(r.IntN(5)), uint64(r.IntN(500))}
				f.Grant(leg, c)
				if g := grants[leg]; g != nil {
					g.Msgs += c.Msgs
					g.Bytes += c.Bytes
				}
			case 2:
				size := r.IntN(100)
				if f.Send(size) == nil {
					sent.Msgs++
					sent.Bytes += uint64(size)
				}
			case 3:
				if r.IntN(10) == 0 && f.Len() > 1 {
					leg := uint64(1 + r.IntN(4))
					f.Remove(leg)
					delete(grants, leg)
				}
			}
			for leg, g := range grants {
				if sent.Msgs > g.Msgs || sent.Bytes > g.Bytes {
					t.Fatalf("sent %+v past leg %d's grant %+v", sent, leg, *g)
				}
			}
		}
	}
}
