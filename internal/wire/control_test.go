package wire

import (
	"errors"
	"testing"
)

func TestSubBackpressure(t *testing.T) {
	for bp := range 256 {
		body := []byte{0, 1, 0, 1, 'a', 0, 0, byte(bp), 0x80, 0x01} // limit 128
		var s Sub
		err := s.Decode(body)
		if bp > BackpressureLatestPerKey {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("backpressure %d: Decode = %v, want ErrMalformed", bp, err)
			}
			continue
		}
		if err != nil || s.Backpressure != uint8(bp) || s.Limit != 128 {
			t.Fatalf("backpressure %d: Decode = %+v, %v", bp, s, err)
		}
	}
}
