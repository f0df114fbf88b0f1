package wire

import "testing"

func TestLogActionNames(t *testing.T) {
	for _, tc := range []struct {
		a    LogAction
		want string
	}{
		{LogCreate, "create"}, {LogNak, "nak"}, {LogConsume, "consume"},
		{LogDeleteConsumer, "delete_consumer"}, {LogAction(11), "log action 11"}, {0, "log action 0"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("%d: %q, want %q", tc.a, got, tc.want)
		}
	}
}

func TestLogPushActionsRoundTrip(t *testing.T) {
	for _, a := range []LogAction{LogConsume, LogDeleteConsumer} {
		in := Log{Ref: 7, Action: a, Body: []byte(`{"log":"l","name":"c"}`)}
		b := in.Append(nil)
		var out Log
		if err := out.Decode(b[HeaderSize+1:]); err != nil { // after the length and the op byte
			t.Fatalf("%v: %v", a, err)
		}
		if out.Ref != in.Ref || out.Action != a || string(out.Body) != string(in.Body) {
			t.Errorf("%v: got %+v", a, out)
		}
	}
}
