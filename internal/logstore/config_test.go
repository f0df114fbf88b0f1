package logstore

import (
	"testing"
	"time"
)

func TestParseSync(t *testing.T) {
	tests := []struct {
		in      string
		want    SyncPolicy
		wantErr bool
	}{
		{in: "always", want: SyncPolicy{Mode: SyncAlways}},
		{in: "never", want: SyncPolicy{Mode: SyncNever}},
		{in: "interval:200ms", want: SyncPolicy{Mode: SyncInterval, Interval: 200 * time.Millisecond}},
		{in: "interval:1m", want: SyncPolicy{Mode: SyncInterval, Interval: time.Minute}},
		{in: "interval:0s", wantErr: true},
		{in: "interval:-1s", wantErr: true},
		{in: "interval:soon", wantErr: true},
		{in: "interval", wantErr: true},
		{in: "Always", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSync(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseSync(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzParseSync checks that what parses prints back to an equal policy.
func FuzzParseSync(f *testing.F) {
	for _, s := range []string{"always", "never", "interval:200ms", "interval:1h2m", "interval:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSync(s)
		if err != nil {
			return
		}
		again, err := ParseSync(p.String())
		if err != nil || again != p {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, p, p.String(), again, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"interval", Config{Sync: SyncPolicy{Mode: SyncInterval, Interval: time.Second}}, true},
		{"interval without period", Config{Sync: SyncPolicy{Mode: SyncInterval}}, false},
		{"unknown mode", Config{Sync: SyncPolicy{Mode: 9}}, false},
		{"negative age", Config{Retention: Retention{MaxAge: -1}}, false},
		{"negative segment", Config{MaxSegmentBytes: -1}, false},
		{"record over cap", Config{MaxRecordBytes: MaxRecordBytes + 1}, false},
		{"negative window", Config{DedupeWindow: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestDedupeBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := newDedupe(time.Minute, 3)
	for i, id := range []string{"a", "b", "c", "d"} {
		d.add(id, uint64(i+1), t0)
	}
	if _, ok := d.lookup("a", t0); ok || d.len() != 3 {
		t.Fatalf("oldest not evicted past the bound: len %d", d.len())
	}
	if seq, ok := d.lookup("d", t0.Add(59*time.Second)); !ok || seq != 4 {
		t.Fatalf("lookup d = %d %v", seq, ok)
	}
	if _, ok := d.lookup("d", t0.Add(time.Minute)); ok || d.len() != 0 {
		t.Fatalf("entries outlived the window: len %d", d.len())
	}
}
