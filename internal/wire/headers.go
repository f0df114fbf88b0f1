package wire

import "fmt"

// HeaderField is one header: an ordered key/value pair. Keys may repeat.
type HeaderField struct{ Key, Value string }

// AppendHeaders appends the header block for hs (without a length prefix):
//
//	n uvarint | n × (key str | value str)
//
// An empty hs appends nothing: an absent block means no headers.
func AppendHeaders(dst []byte, hs []HeaderField) []byte {
	if len(hs) == 0 {
		return dst
	}
	dst = appendUvarint(dst, uint64(len(hs)))
	for _, h := range hs {
		dst = appendString(dst, h.Key)
		dst = appendString(dst, h.Value)
	}
	return dst
}

// ParseHeaders decodes a header block. An empty block is no headers.
func ParseHeaders(b []byte) ([]HeaderField, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := decoder{b: b}
	n := d.uvarint("header count")
	if d.err == nil && (n == 0 || n > uint64(len(d.b))/2) {
		d.fail("header count")
	}
	if d.err != nil {
		return nil, fmt.Errorf("headers: %w", d.err)
	}
	hs := make([]HeaderField, 0, n)
	for range n {
		k := d.bytes("header key")
		v := d.bytes("header value")
		if d.err != nil {
			return nil, fmt.Errorf("headers: %w", d.err)
		}
		hs = append(hs, HeaderField{string(k), string(v)})
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("headers: %w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return hs, nil
}

// HasHeader reports whether the header block b has a field key: value,
// without allocating. A malformed block has none.
func HasHeader(b []byte, key, value string) bool {
	if len(b) == 0 {
		return false
	}
	d := decoder{b: b}
	n := d.uvarint("header count")
	for i := uint64(0); d.err == nil && i < n; i++ {
		k := d.bytes("header key")
		v := d.bytes("header value")
		if d.err == nil && string(k) == key && string(v) == value {
			return true
		}
	}
	return false
}

// ValidateHeaders checks that b is a well-formed header block without
// allocating.
func ValidateHeaders(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	d := decoder{b: b}
	n := d.uvarint("header count")
	if d.err == nil && (n == 0 || n > uint64(len(d.b))/2) {
		d.fail("header count")
	}
	for i := uint64(0); d.err == nil && i < n; i++ {
		d.bytes("header key")
		d.bytes("header value")
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return ErrMalformed
	}
	return nil
}
