package logs_test

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/logs"
)

func TestAppendRoutes(t *testing.T) {
	e := newEnv(t, "")
	e.create(logs.LogConfig{Name: "all", Subjects: []string{">"}})
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}})
	e.create(logs.LogConfig{Name: "eu", Subjects: []string{"orders.eu.*", "billing.eu"}})
	tests := []struct {
		subject string
		want    []string
	}{
		{"orders.eu.created", []string{"all", "eu", "orders"}},
		{"orders.us.created", []string{"all", "orders"}},
		{"orders", []string{"all"}},
		{"billing.eu", []string{"all", "eu"}},
		{"billing.eu.x", []string{"all"}},
	}
	for _, tc := range tests {
		t.Run(tc.subject, func(t *testing.T) {
			res, err := e.m.Append(context.Background(), tc.subject, nil, []byte("x"), "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range res {
				got = append(got, a.Log)
				if a.Seq == 0 || a.Dup {
					t.Errorf("%+v", a)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("logs = %v, want %v", got, tc.want)
			}
			if !e.m.Matches(tc.subject) {
				t.Error("Matches = false")
			}
		})
	}
	e.m.Delete("all")
	if e.m.Matches("nothing.here") {
		t.Error("Matches(nothing.here) = true")
	}
	if res, err := e.m.Append(context.Background(), "nothing.here", nil, nil, ""); res != nil || err != nil {
		t.Errorf("Append uncaptured = %v, %v", res, err)
	}
	li, _ := e.m.Info("orders")
	if li.State.LastSeq != 2 || !li.State.LastTime.Equal(t0) {
		t.Errorf("orders state %+v", li.State)
	}
	if n := testing.AllocsPerRun(100, func() { e.m.Matches("orders.eu.created") }); n != 0 {
		t.Errorf("Matches allocates %v times", n)
	}
}

func TestAppendDedupe(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.create(logs.LogConfig{Name: "orders", Subjects: []string{"orders.>"}, DedupeWindow: time.Minute})
	e.create(logs.LogConfig{Name: "nodedupe", Subjects: []string{"orders.eu"}, Storage: logs.StorageMemory})
	ctx := context.Background()
	first, err := e.m.Append(ctx, "orders.eu", nil, []byte("a"), "id-1")
	if err != nil {
		t.Fatal(err)
	}
	byLog := func(res []logs.Appended) map[string]logs.Appended {
		m := map[string]logs.Appended{}
		for _, a := range res {
			m[a.Log] = a
		}
		return m
	}
	again, err := e.m.Append(ctx, "orders.eu", nil, []byte("a"), "id-1")
	if err != nil {
		t.Fatal(err)
	}
	if a := byLog(again)["orders"]; !a.Dup || a.Seq != byLog(first)["orders"].Seq {
		t.Errorf("repeat in window: %+v", a)
	}
	if a := byLog(again)["nodedupe"]; a.Dup || a.Seq != 2 {
		t.Errorf("log without dedupe: %+v", a)
	}
	e.reopen() // the window is reloaded from the log
	res, _ := e.m.Append(ctx, "orders.us", nil, []byte("a"), "id-1")
	if !res[0].Dup || res[0].Seq != 1 {
		t.Errorf("repeat after reopen: %+v", res)
	}
	e.clk.Advance(2 * time.Minute)
	res, _ = e.m.Append(ctx, "orders.us", nil, []byte("a"), "id-1")
	if res[0].Dup || res[0].Seq != 2 {
		t.Errorf("repeat past the window: %+v", res)
	}
}
