package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

func TestE2EStatus(t *testing.T) {
	srv := ferrytest.New(t)
	nc, err := ferry.Connect(srv.URL(), ferry.WithID("edge-fra"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe("demo.>", func(*ferry.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Handle("demo.>", func(*ferry.Msg) {}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := nc.Publish("demo.x", []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Publish("nobody.here", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := nc.SendMsg(ctx, &ferry.Msg{Subject: "demo.b", Data: []byte("all"), Target: ferry.Broadcast()}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runFerry(t, srv.URL(), "", "status", "--json", "--sample", "200ms")
	expect(t, "status --json", code, 0, stderr, "")
	var st jsonStatus
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if !strings.HasPrefix(st.Server, "ferry ") || st.Connections != 2 || st.Endpoints != 2 || st.Subscriptions != 2 {
		t.Errorf("status %+v", st)
	}
	if st.MessagesIn != 5 || st.MessagesInByMode["publish"] != 4 || st.MessagesInByMode["broadcast"] != 1 || st.MessagesInByMode["anycast"] != 0 ||
		st.BytesIn != 20 || st.NoReceivers != 1 || st.UptimeSeconds <= 0 {
		t.Errorf("counters %+v", st)
	}
	if st.Rates == nil || st.SampleSeconds != (200*time.Millisecond).Seconds() || st.Rates.MessagesIn != 0 {
		t.Errorf("rates %+v over %v s", st.Rates, st.SampleSeconds)
	}
	wantTop := []string{"demo.x 3 0", "demo.b 1 0", "nobody.here 1 0"} // subject, total, rate over the quiet sample
	var top []string
	for _, s := range st.TopSubjects {
		r := "null"
		if s.Rate != nil {
			r = fmt.Sprint(*s.Rate)
		}
		top = append(top, fmt.Sprint(s.Subject, " ", s.Total, " ", r))
	}
	if !slices.Equal(top, wantTop) {
		t.Errorf("top subjects %q, want %q", top, wantTop)
	}

	code, stdout, stderr = runFerry(t, srv.URL(), "", "status", "--sample", "0")
	expect(t, "status", code, 0, stderr, "")
	for _, want := range []string{"server ", "ferry ", "uptime ", "connections ", "messages in ", "publish 4, broadcast 1", "slow consumers ", "dropped ", "failovers ", "streams ", "top subjects", "demo.x"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "/s)") {
		t.Errorf("rates printed without a sample:\n%s", stdout)
	}
}
