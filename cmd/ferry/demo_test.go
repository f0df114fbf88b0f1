package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferrymq/ferry/ferrytest"
)

func TestDemoEmbedded(t *testing.T) {
	code, out, errOut := runInProcess(t, "", "demo")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var steps []string
	for _, l := range lines {
		if len(l) > 2 && l[1] == '/' && strings.HasPrefix(l[2:], "8 ") {
			steps = append(steps, l)
		}
	}
	if len(steps) != 8 {
		t.Fatalf("%d step lines, want 8:\n%s", len(steps), out)
	}
	for i, l := range steps {
		if !strings.HasPrefix(l, string(rune('1'+i))+"/8 ") || !strings.Contains(l, " … ✓ ") || strings.Contains(l, "✗") {
			t.Errorf("step %d: %q", i+1, l)
		}
	}
	for _, want := range []string{"only cam-7 received it (from ops)", "host-7 answered", "answered by edge-fra", "answered by edge-iad", "all 200 in order"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if last := lines[len(lines)-1]; last != "all 8 patterns delivered what they said." {
		t.Errorf("last line %q", last)
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestDemoJSONAgainstServer(t *testing.T) {
	srv := ferrytest.New(t)
	code, out, errOut := runInProcess(t, "", "demo", "--json", "--server", srv.URL())
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var n int
	for {
		var r struct {
			Step    int      `json:"step"`
			Pattern string   `json:"pattern"`
			OK      *bool    `json:"ok"`
			Detail  string   `json:"detail"`
			Millis  *float64 `json:"millis"`
		}
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode object %d: %v\n%s", n+1, err, out)
		}
		n++
		if r.Step != n || r.Pattern == "" || r.OK == nil || !*r.OK || r.Detail == "" || r.Millis == nil || *r.Millis < 0 {
			t.Errorf("object %d: %+v", n, r)
		}
	}
	if n != 8 {
		t.Errorf("%d objects, want 8:\n%s", n, out)
	}
}

// TestDemoFailureExits1 runs the demo against a broker that is not there:
// every step fails within its limit and the command exits 1.
func TestDemoFailureExits1(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"demo", "--server", "ferry://127.0.0.1:1", "--step-timeout", "200ms"}, strings.NewReader(""), &out, &errOut)
	if code != exitError {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	if got := strings.Count(out.String(), "✗"); got != 8 {
		t.Errorf("%d ✗ lines, want 8:\n%s", got, out.String())
	}
	if !strings.Contains(errOut.String(), "8 of 8 patterns failed") {
		t.Errorf("stderr %q", errOut.String())
	}
}
