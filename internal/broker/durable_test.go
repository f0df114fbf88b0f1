package broker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeDurable captures "logs.>" and numbers what it stores; payload "dup"
// is a duplicate of seq 1 and payload "fail" fails.
type fakeDurable struct {
	stored []string
}

func (f *fakeDurable) Matches(subject []byte) bool {
	return strings.HasPrefix(string(subject), "logs.")
}

func (f *fakeDurable) Append(_ context.Context, subject, _, payload []byte) (uint64, bool, error) {
	switch string(payload) {
	case "dup":
		return 1, true, nil
	case "fail":
		return 0, false, errors.New("disk on fire")
	}
	f.stored = append(f.stored, string(subject)+":"+string(payload))
	return uint64(len(f.stored)), false, nil
}

func TestPublishSeqStoresBeforeDelivering(t *testing.T) {
	d := &fakeDurable{}
	b := New(Config{Durable: d})
	pub, _ := connect(t, b, "p")
	sub, rec := connect(t, b, "s")
	subscribe(t, b, sub, 1, ">", "", 0)
	subscribe(t, b, sub, 2, ">", "", ScopeInbox)
	send := func(subj, payload string, tg Target) (int, uint64, error) {
		return b.PublishSeq(pub, &Message{Subject: []byte(subj), Payload: []byte(payload)}, tg)
	}
	if n, seq, err := send("logs.a", "x", Target{}); n != 1 || seq != 1 || err != nil {
		t.Fatalf("captured publish = %d, %d, %v; want 1, 1, nil", n, seq, err)
	}
	if n, seq, err := send("other", "y", Target{}); n != 1 || seq != 0 || err != nil {
		t.Fatalf("uncaptured publish = %d, %d, %v; want 1, 0, nil", n, seq, err)
	}
	if n, seq, err := send("logs.a", "z", Target{Mode: ModeUnicast, To: []byte("s")}); n != 1 || seq != 0 || err != nil {
		t.Fatalf("unicast = %d, %d, %v; want 1, 0, nil (targeted sends are not stored)", n, seq, err)
	}
	if n, seq, err := send("logs.a", "dup", Target{}); n != 0 || seq != 1 || err != nil {
		t.Fatalf("duplicate = %d, %d, %v; want 0, 1, nil", n, seq, err)
	}
	if _, _, err := send("logs.a", "fail", Target{}); !errors.Is(err, ErrNotStored) {
		t.Fatalf("failed append = %v, want ErrNotStored", err)
	}
	want := []string{"1:logs.a:x", "1:other:y", "2:logs.a:z"}
	if got := rec.messages(); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if want := []string{"logs.a:x"}; !slices.Equal(d.stored, want) {
		t.Fatalf("stored %q, want %q", d.stored, want)
	}
}
