package wire

import (
	"reflect"
	"testing"
)

// FuzzDecode splits and decodes arbitrary bytes; whatever decodes must
// re-encode to a frame that decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, fr := range sampleFrames() {
		f.Add(fr.Append(nil))
	}
	f.Add([]byte{0, 0, 0, 1, byte(OpPing)})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			op, body, rest, need, err := Split(b, 1<<16)
			if err != nil || need != 0 {
				return
			}
			b = rest
			fr, err := Decode(op, body)
			if err != nil {
				continue
			}
			enc := fr.Append(nil)
			op2, body2, _, _, err := Split(enc, 1<<20)
			if err != nil || op2 != op {
				t.Fatalf("re-encoded %v does not split: %v", op, err)
			}
			fr2, err := Decode(op2, body2)
			if err != nil {
				t.Fatalf("re-encoded %v does not decode: %v", op, err)
			}
			if !reflect.DeepEqual(normalize(fr), normalize(fr2)) {
				t.Fatalf("round trip of %v:\n%#v\n%#v", op, fr, fr2)
			}
		}
	})
}

// normalize makes NaN locations comparable.
func normalize(f Frame) Frame {
	switch v := f.(type) {
	case *Connect:
		c := *v
		if c.Lat != c.Lat {
			c.Lat = 0
		}
		if c.Lon != c.Lon {
			c.Lon = 0
		}
		return &c
	case *Pub:
		p := *v
		p.Target = normTarget(p.Target)
		return &p
	case *Query:
		q := *v
		q.Target = normTarget(q.Target)
		return &q
	case *StreamOpen:
		o := *v
		o.Target = normTarget(o.Target)
		return &o
	case *Meta:
		m := *v
		m.Lat, m.Lon = normFloat(m.Lat), normFloat(m.Lon)
		return &m
	}
	return f
}

func normTarget(t Target) Target {
	t.Lat, t.Lon = normFloat(t.Lat), normFloat(t.Lon)
	return t
}

func normFloat(f float64) float64 {
	if f != f {
		return 0
	}
	return f
}

// FuzzHeaders checks that ParseHeaders and ValidateHeaders agree and that a
// parsed block re-encodes to something that parses the same.
func FuzzHeaders(f *testing.F) {
	f.Add(AppendHeaders(nil, []HeaderField{{"a", "1"}, {"b", "2"}}))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := ParseHeaders(b)
		if (err == nil) != (ValidateHeaders(b) == nil) {
			t.Fatalf("ParseHeaders and ValidateHeaders disagree on %q: %v", b, err)
		}
		HasHeader(b, "a", "1") // must not panic on anything
		if err != nil {
			return
		}
		for _, h := range hs {
			if !HasHeader(b, h.Key, h.Value) {
				t.Fatalf("HasHeader misses %q: %q in %q", h.Key, h.Value, b)
			}
		}
		hs2, err := ParseHeaders(AppendHeaders(nil, hs))
		if err != nil || !reflect.DeepEqual(hs, hs2) {
			t.Fatalf("header round trip: %v %v %v", hs, hs2, err)
		}
	})
}
