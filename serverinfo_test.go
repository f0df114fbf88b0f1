package ferry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

func TestServerInfo(t *testing.T) {
	s := ferrytest.New(t)
	ctx := timeout(t, 10*time.Second)
	nc := dial(t, s, ferry.WithID("probe"))
	mustSub(t)(nc.Handle("x.>", func(*ferry.Msg) {}))
	must(t, nc.Publish("nobody.here", []byte("abc")))
	if _, err := nc.SendMsg(ctx, &ferry.Msg{Subject: "x.y", Data: []byte("hello"), Target: ferry.ToEndpoint("probe")}); err != nil {
		t.Fatal(err)
	}
	must(t, nc.Flush(ctx))
	si, err := nc.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := si.Stats
	if !strings.HasPrefix(si.Server, "ferry ") || si.Connections != 1 || st.Endpoints != 1 || st.Subscriptions != 1 {
		t.Errorf("server info %+v", si)
	}
	if st.MsgsIn != 2 || st.MsgsInByMode != [5]uint64{1, 1, 0, 0, 0} || st.BytesIn != 8 || st.NoReceivers != 1 || st.Uptime <= 0 {
		t.Errorf("stats %+v", st)
	}
}
