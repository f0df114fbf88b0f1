package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// benchProgressEvery is how often the progress line is redrawn.
const benchProgressEvery = 100 * time.Millisecond

// benchProgress redraws one status line on a terminal, with \r, while a
// scenario runs: a bar, the messages sent and the rate.
type benchProgress struct {
	w     io.Writer
	label string
	count func() int64  // messages sent so far
	total int64         // messages to send, or 0 to run for dur
	dur   time.Duration // used when total is 0
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

// startProgress draws the line until Stop; a nil w draws nothing.
func startProgress(w io.Writer, label string, total int64, dur time.Duration, count func() int64) *benchProgress {
	p := &benchProgress{w: w, label: label, count: count, total: total, dur: dur, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	if w == nil {
		close(p.done)
		return p
	}
	go p.loop()
	return p
}

func (p *benchProgress) loop() {
	defer close(p.done)
	t := time.NewTicker(benchProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 79)) // leave a clean line
			return
		case now := <-t.C:
			fmt.Fprint(p.w, "\r"+p.line(p.count(), now.Sub(p.start)))
		}
	}
}

// Stop erases the line and waits until the drawing goroutine has exited.
// It may be called more than once.
func (p *benchProgress) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// line renders the status after n messages in elapsed, e.g.
// "fanout   [=========>          ]  45%  123456 msgs  1.23M msgs/s  2.1s".
func (p *benchProgress) line(n int64, elapsed time.Duration) string {
	const width = 20
	frac := elapsed.Seconds() / p.dur.Seconds()
	if p.total > 0 {
		frac = float64(n) / float64(p.total)
	}
	frac = min(max(frac, 0), 1)
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	return fmt.Sprintf("%-8s [%s] %3d%%  %d msgs  %s msgs/s  %.1fs ",
		p.label, bar, int(frac*100), n, fmtSI(rate), elapsed.Seconds())
}

// benchIsTerminal reports whether w (possibly wrapped in a lockedWriter) is a
// terminal.
func benchIsTerminal(w io.Writer) bool {
	if lw, ok := w.(*lockedWriter); ok {
		w = lw.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
