package wire

import "testing"

func BenchmarkAppendPub(b *testing.B) {
	p := Pub{Subject: []byte("orders.eu.created"), Payload: make([]byte, 128)}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.Append(buf[:0])
	}
}

func BenchmarkDecodePub(b *testing.B) {
	f := (&Pub{Subject: []byte("orders.eu.created"), Reply: []byte("_INBOX.a.b"), Payload: make([]byte, 128)}).Append(nil)
	var p Pub
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if err := p.Decode(f[HeaderSize+1:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMsg(b *testing.B) {
	subj, payload := []byte("orders.eu.created"), make([]byte, 128)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMsg(buf[:0], 42, subj, nil, []byte("ep-1"), ModePublish, nil, payload)
	}
}
