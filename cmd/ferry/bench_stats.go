package main

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ferrymq/ferry"
)

// Latency histograms count nanoseconds from 1 ns to a minute (longer
// latencies are recorded as a minute) with three significant digits.
const (
	benchHistMax    = int64(time.Minute)
	benchHistDigits = 3
)

func newBenchHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, benchHistMax, benchHistDigits)
}

// benchStampHeader carries the send time when the payload is too small for it.
const benchStampHeader = "Bench-Sent"

// benchStamp writes t into m: the first 8 payload bytes (little-endian Unix
// nanoseconds) when the payload has room, else the Bench-Sent header.
func benchStamp(m *ferry.Msg, t time.Time) {
	ns := t.UnixNano()
	if len(m.Data) >= 8 {
		binary.LittleEndian.PutUint64(m.Data, uint64(ns))
		return
	}
	m.Header = ferry.Header{{Key: benchStampHeader, Value: strconv.FormatInt(ns, 10)}}
}

// benchSentAt reads the send time benchStamp wrote into m.
func benchSentAt(m *ferry.Msg) (int64, bool) {
	if len(m.Data) >= 8 {
		return int64(binary.LittleEndian.Uint64(m.Data)), true
	}
	ns, err := strconv.ParseInt(m.Header.Get(benchStampHeader), 10, 64)
	return ns, err == nil
}

// benchRecorder counts the messages of one receiver and records their latencies.
// It is safe for concurrent use.
type benchRecorder struct {
	n    atomic.Int64
	last atomic.Int64 // Unix nanoseconds of the latest message
	mu   sync.Mutex   // guards hist
	hist *hdrhistogram.Histogram
}

func newBenchRecorder() *benchRecorder { return &benchRecorder{hist: newBenchHistogram()} }

// record counts a message received at now after latency lat.
func (r *benchRecorder) record(now time.Time, lat time.Duration) {
	r.mu.Lock()
	_ = r.hist.RecordValue(min(max(int64(lat), 1), benchHistMax)) // in range: cannot fail
	r.mu.Unlock()
	ns := now.UnixNano()
	for old := r.last.Load(); ns > old && !r.last.CompareAndSwap(old, ns); old = r.last.Load() {
	}
	r.n.Add(1)
}

// message records m's end-to-end latency from its stamp; a message without
// one is counted only.
func (r *benchRecorder) message(m *ferry.Msg) {
	now := time.Now()
	sent, ok := benchSentAt(m)
	if !ok {
		r.last.Store(now.UnixNano())
		r.n.Add(1)
		return
	}
	r.record(now, time.Duration(now.UnixNano()-sent))
}

// mergeBenchHistograms returns the sum of the recorders' histograms.
func mergeBenchHistograms(rs []*benchRecorder) *hdrhistogram.Histogram {
	h := newBenchHistogram()
	for _, r := range rs {
		r.mu.Lock()
		h.Merge(r.hist)
		r.mu.Unlock()
	}
	return h
}

// benchLatency summarises a latency histogram, in microseconds.
type benchLatency struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// benchSummary returns the summary of h (nanoseconds), or nil when h is empty.
func benchSummary(h *hdrhistogram.Histogram) *benchLatency {
	if h.TotalCount() == 0 {
		return nil
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return &benchLatency{
		Count: h.TotalCount(),
		Min:   us(h.Min()),
		Mean:  h.Mean() / 1e3,
		P50:   us(h.ValueAtQuantile(50)),
		P90:   us(h.ValueAtQuantile(90)),
		P99:   us(h.ValueAtQuantile(99)),
		P999:  us(h.ValueAtQuantile(99.9)),
		Max:   us(h.Max()),
	}
}

// benchResult is the outcome of one scenario run; its JSON form is documented
// in docs/ferry-bench.md.
type benchResult struct {
	Started  time.Time `json:"started"`
	Scenario string    `json:"scenario"`
	Subject  string    `json:"subject"`
	Pubs     int       `json:"pubs"`
	Subs     int       `json:"subs"`
	Size     int       `json:"size"`

	Sent       int64   `json:"sent"`     // messages (requests) sent by all publishers
	Expected   int64   `json:"expected"` // deliveries the receivers should have got
	Received   int64   `json:"received"`
	ReceivedBy []int64 `json:"received_by,omitempty"` // per receiver
	Lost       int64   `json:"lost"`                  // expected - received
	Dropped    int64   `json:"dropped"`               // drops the client or server reported

	Seconds          float64       `json:"seconds"`            // first send to last delivery
	MsgsPerSec       float64       `json:"msgs_per_sec"`       // sent / seconds
	DeliveriesPerSec float64       `json:"deliveries_per_sec"` // received / seconds
	MBPerSec         float64       `json:"mb_per_sec"`         // payload bytes sent / seconds / 1e6
	Latency          *benchLatency `json:"latency_us,omitempty"`

	Lossy bool `json:"lossy"`
}

// errBenchLost reports messages lost in a run that should have lost none.
var errBenchLost = errors.New("messages lost")

// check returns an error matching errBenchLost when messages went missing
// unexpectedly: without --lossy, more than the drops reported.
func (r *benchResult) check() error {
	if r.Lost == 0 || r.Lossy || r.Lost <= r.Dropped {
		return nil
	}
	return fmt.Errorf("%s: %w: received %d of %d (%d reported dropped)", r.Scenario, errBenchLost, r.Received, r.Expected, r.Dropped)
}

// writeBenchJSON writes each result as one JSON object per line.
func writeBenchJSON(w io.Writer, rs []*benchResult) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// benchCSVHeader names the --csv columns; docs/ferry-bench.md describes them.
var benchCSVHeader = []string{
	"started", "scenario", "pubs", "subs", "size", "sent", "received", "lost", "dropped", "seconds",
	"msgs_per_sec", "deliveries_per_sec", "mb_per_sec",
	"lat_count", "lat_min_us", "lat_mean_us", "lat_p50_us", "lat_p90_us", "lat_p99_us", "lat_p999_us", "lat_max_us",
}

// writeBenchCSV writes the header and one row per result. Latency cells are
// empty for scenarios without latencies.
func writeBenchCSV(w io.Writer, rs []*benchResult) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(benchCSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	d := strconv.FormatInt
	for _, r := range rs {
		row := []string{
			r.Started.UTC().Format(time.RFC3339), r.Scenario, strconv.Itoa(r.Pubs), strconv.Itoa(r.Subs), strconv.Itoa(r.Size),
			d(r.Sent, 10), d(r.Received, 10), d(r.Lost, 10), d(r.Dropped, 10), f(r.Seconds),
			f(r.MsgsPerSec), f(r.DeliveriesPerSec), f(r.MBPerSec),
		}
		if l := r.Latency; l != nil {
			row = append(row, d(l.Count, 10), f(l.Min), f(l.Mean), f(l.P50), f(l.P90), f(l.P99), f(l.P999), f(l.Max))
		} else {
			row = append(row, "", "", "", "", "", "", "", "")
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// writeBenchText writes the results as an aligned table.
func writeBenchText(w io.Writer, rs []*benchResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tpubs\tsubs\tsize\tsent\treceived\tlost\tdropped\ttime\tmsgs/s\tdeliv/s\tMB/s\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, r := range rs {
		deliv := "-"
		if r.Subs > 0 {
			deliv = fmtSI(r.DeliveriesPerSec)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2fs\t%s\t%s\t%s\t",
			r.Scenario, r.Pubs, r.Subs, r.Size, r.Sent, r.Received, r.Lost, r.Dropped, r.Seconds,
			fmtSI(r.MsgsPerSec), deliv, fmtShort(r.MBPerSec))
		if l := r.Latency; l != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", fmtMicros(l.P50), fmtMicros(l.P90), fmtMicros(l.P99), fmtMicros(l.P999), fmtMicros(l.Max))
		} else {
			fmt.Fprint(tw, "-\t-\t-\t-\t-\t\n")
		}
	}
	return tw.Flush()
}

// fmtShort formats v with about three significant digits.
func fmtShort(v float64) string {
	switch {
	case v >= 99.95: // would round to 100.0
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 9.995: // would round to 10.00
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// fmtSI formats a rate with a k, M or G suffix.
func fmtSI(v float64) string {
	switch {
	case v >= 1e9:
		return fmtShort(v/1e9) + "G"
	case v >= 1e6:
		return fmtShort(v/1e6) + "M"
	case v >= 1e3:
		return fmtShort(v/1e3) + "k"
	default:
		return fmtShort(v)
	}
}

// fmtMicros formats a latency given in microseconds with its unit.
func fmtMicros(us float64) string {
	switch {
	case us >= 1e6:
		return fmtShort(us/1e6) + "s"
	case us >= 1e3:
		return fmtShort(us/1e3) + "ms"
	default:
		return fmtShort(us) + "µs"
	}
}
