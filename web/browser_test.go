package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/server"
)

// chromiumPath is where Debian installs Chromium (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// TestDashboardInBrowser opens the dashboard of a real server in headless
// Chromium, with endpoints in Frankfurt, Virginia and Singapore: it checks
// that the map draws the three, that a multicast to them shows up among
// the routing decisions, and saves a screenshot to $FERRY_ARTIFACTS (or a
// temporary directory). Without Chromium it is skipped, except under CI,
// where it fails.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s is missing (%v): .ci/run installs it", chromiumPath, err)
		}
		t.Skipf("no %s: install chromium to run the browser test", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	srv, err := server.New(server.Options{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
	})

	edges := []struct {
		id, region string
		lat, lon   float64
	}{
		{"edge-fra", "eu-central", 50.11, 8.68},
		{"edge-iad", "us-east", 38.95, -77.45},
		{"edge-sin", "ap-southeast", 1.35, 103.82},
	}
	received := make(chan string, 16)
	for _, e := range edges {
		nc := connect(t, srv.URL(), ferry.WithID(e.id), ferry.WithRegion(e.region),
			ferry.WithLabels("type", "edge"), ferry.WithLocation(e.lat, e.lon))
		if _, err := nc.HandleGroup("video.>", func(*ferry.Msg) { received <- e.id }); err != nil {
			t.Fatal(err)
		}
		if err := nc.Join(ctx, "edges"); err != nil {
			t.Fatal(err)
		}
	}
	paris := connect(t, srv.URL(), ferry.WithID("studio-paris"), ferry.WithRegion("eu-west"), ferry.WithLocation(48.86, 2.35))

	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer bcancel()

	// The screenshot is taken on the way out, so a failing run leaves one
	// too; it runs before bcancel closes the browser, within ctx.
	defer screenshot(bctx, t)

	base := "http://" + srv.HTTPAddr().String() + "/"
	if err := chromedp.Do(bctx, chromedp.Navigate(base)); err != nil {
		t.Fatalf("opening %s: %v", base, err)
	}
	wait := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("waiting until %s: %v", what, err)
		}
	}
	wait("the map shows the three edges",
		`["edge-fra","edge-iad","edge-sin"].every((id) => document.querySelector('#map g.marker[data-endpoint="' + id + '"] circle'))`)
	// Where: west to east Virginia, Frankfurt, Singapore; north to south
	// (y grows downwards) Frankfurt, Virginia, Singapore. Swapped latitude
	// and longitude or a broken projection fails here.
	at, err := chromedp.Run(bctx, chromedp.Evaluate[map[string][2]float64](`Object.fromEntries(["edge-fra","edge-iad","edge-sin"].map((id) => {
		const c = document.querySelector('#map g.marker[data-endpoint="' + id + '"] circle');
		return [id, [c.cx.baseVal.value, c.cy.baseVal.value]];
	}))`))
	if err != nil {
		t.Fatal(err)
	}
	fra, iad, sin := at["edge-fra"], at["edge-iad"], at["edge-sin"]
	if !(iad[0] < fra[0] && fra[0] < sin[0]) || !(fra[1] < iad[1] && iad[1] < sin[1]) {
		t.Errorf("markers misplaced (x, y): Frankfurt %v, Virginia %v, Singapore %v", fra, iad, sin)
	}

	n, err := paris.SendMsg(ctx, &ferry.Msg{Subject: "video.frame", Data: []byte("frame 1"), Target: ferry.Multicast("edges")})
	if err != nil || n != 3 {
		t.Fatalf("multicast reached %d: %v", n, err)
	}
	for range 3 {
		select {
		case <-received:
		case <-ctx.Done():
			t.Fatal("the edges did not all get the multicast")
		}
	}
	wait("the multicast shows among the routing decisions",
		`[...document.querySelectorAll('#decisions tr[data-mode="multicast"]')].some((tr) =>
			tr.dataset.subject === "video.frame" && ["edge-fra","edge-iad","edge-sin"].every((id) => tr.textContent.includes(id)))`)
	wait("the map draws the multicast", `document.querySelectorAll('#arcs path.multicast').length === 3`)

	row, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#decisions tr[data-mode="multicast"]').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(row, "studio-paris") || !strings.Contains(row, "reaches every matching subscribed candidate: 3") {
		t.Errorf("decision row %q lacks the sender or the reason", row)
	}

	// A durable log with a lagging consumer and an open stream, so the
	// screenshot shows those panels filled too.
	if err := paris.CreateLog(ctx, ferry.LogConfig{Name: "frames", Subjects: []string{"archive.>"}, Storage: ferry.StorageMemory}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := paris.PublishDurable(ctx, "archive.frame", fmt.Appendf(nil, "frame %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := paris.Fetch(ctx, ferry.ConsumerConfig{Log: "frames", Name: "indexer"}, 2, 0); err != nil {
		t.Fatal(err)
	}
	syd := connect(t, srv.URL(), ferry.WithID("probe-syd"), ferry.WithLocation(-33.87, 151.21))
	if _, err := syd.HandleStreams("telemetry.>", func(in *ferry.IncomingStream) {
		for { // the stream lasts while the handler runs
			if _, err := in.Recv(ctx); err != nil {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	st, err := paris.OpenStream(ctx, "telemetry.paris", ferry.ToEndpoint("probe-syd"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 {
		if err := st.Send(ctx, []byte("sample")); err != nil {
			t.Fatal(err)
		}
	}
	wait("the streams panel shows the stream and its credit", `((text) => text.includes("telemetry.paris") && /\d+ msgs \//.test(text))(document.querySelector('#streams').textContent)`)
	wait("the logs panel shows the log and its consumer", `document.querySelector('#logs').textContent.includes("indexer: 3 / 2")`)

}

// screenshot saves the page to $FERRY_ARTIFACTS (or a temporary directory)
// as dashboard.png. It only logs or marks the test failed, never stops it:
// it runs deferred, also after a failure.
func screenshot(bctx context.Context, t *testing.T) {
	t.Helper()
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	dir := os.Getenv("FERRY_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	t.Logf("dashboard screenshot: %s (%d bytes)", path, len(png))
}

func connect(t *testing.T, url string, opts ...ferry.Option) *ferry.Conn {
	t.Helper()
	nc, err := ferry.Connect(url, opts...)
	if err != nil {
		t.Fatal(fmt.Errorf("connecting: %w", err))
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}
