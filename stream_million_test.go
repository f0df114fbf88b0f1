package ferry_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
	"github.com/ferrymq/ferry/server"
)

// The million-message acceptance test. Its size comes from
// FERRY_STREAM_MILLION (default 100,000): a million messages take about 10
// s without the race detector but over 60 s (66 s measured) with it on a
// 2-core machine, so `go test -race ./...` runs the smaller stream and .ci/run adds
// one non-race run with FERRY_STREAM_MILLION=1000000.
const (
	millionDefaultN = 100_000
	millionPayload  = 64       // bytes per message: the sequence number, then a pattern derived from it
	millionWinMsgs  = 256      // the receiver's window: messages…
	millionWinBytes = 16 << 10 // …and payload bytes (256 × 64 B: both limits bind together)
	millionMaxPay   = 4 << 10  // the server's MaxPayload, so that the byte window is not raised to 1 MiB
	frameOverhead   = 32       // most bytes a STREAM_DATA frame adds to its payload (header 5, IDs and lengths as uvarints)
	controlAllow    = 4 << 10  // INFO, OK, STREAM_OPEN, STREAM_CLOSE and the like on the receiver's connection
	slowFactor      = 10       // the receiver takes ten times the sender's per-message cost
	calibrateN      = 20_000   // messages of the calibration stream
	paceEvery       = 64       // the receiver checks its schedule every so many messages
	millionEnvVar   = "FERRY_STREAM_MILLION"
	millionSubject  = "million.stream"
	millionRecvID   = "million-rx"
	millionCalibSub = "million.calibrate"
)

// millionN returns the number of messages to stream.
func millionN(t *testing.T) int {
	v := os.Getenv(millionEnvVar)
	if v == "" {
		return millionDefaultN
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number of messages", millionEnvVar, v)
	}
	return n
}

// millionMsg writes message seq's payload into p: seq big-endian, then
// bytes derived from seq, so a message delivered in the wrong place or
// with a wrong body is detected.
func millionMsg(p []byte, seq uint64) []byte {
	p = p[:millionPayload]
	binary.BigEndian.PutUint64(p, seq)
	for i := 8; i < len(p); i++ {
		p[i] = byte(seq>>(i%5)) ^ byte(i*31)
	}
	return p
}

// sendMillion sends messages 1..n of the million format on s.
func sendMillion(ctx context.Context, s *ferry.Stream, n int) error {
	buf := make([]byte, millionPayload)
	for i := 1; i <= n; i++ {
		if err := s.Send(ctx, millionMsg(buf, uint64(i))); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
	}
	return s.Close()
}

// recvMillion reads the stream to its end, checking that messages 1..n
// arrive exactly once, in order and intact, then io.EOF. pace, when not
// nil, is called after each message with its number.
func recvMillion(ctx context.Context, in *ferry.IncomingStream, n int, pace func(i int)) error {
	want := make([]byte, millionPayload)
	for i := 1; i <= n; i++ {
		m, err := in.Recv(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d messages: %w", i-1, n, err)
		}
		if m.Seq != uint64(i) || !bytes.Equal(m.Data, millionMsg(want, uint64(i))) {
			return fmt.Errorf("message %d: seq %d, payload %x", i, m.Seq, m.Data)
		}
		if pace != nil {
			pace(i)
		}
	}
	if m, err := in.Recv(ctx); err != io.EOF {
		if err == nil {
			return fmt.Errorf("message %d (seq %d) after the last one", n+1, m.Seq)
		}
		return fmt.Errorf("end after %d messages: %v, want io.EOF", n, err)
	}
	return nil
}

// calibrate measures the sender's per-message cost: the time per message
// of a stream of the same shape read as fast as possible, on a connection
// of its own so as not to disturb the measured receiver's counters.
func calibrate(t *testing.T, ctx context.Context, s *ferrytest.Server, sender *ferry.Conn) time.Duration {
	t.Helper()
	rx := dial(t, s)
	ln, err := rx.ListenStreams(millionCalibSub, ferry.WithWindow(millionWinMsgs, millionWinBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, err := sender.OpenStream(ctx, millionCalibSub, ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- sendMillion(ctx, st, calibrateN) }()
	if err := recvMillion(ctx, in, calibrateN, nil); err != nil {
		t.Fatalf("calibration stream: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("calibration stream: %v", err)
	}
	return time.Since(start) / calibrateN
}

// TestStreamMillionToSlowReader streams N messages (FERRY_STREAM_MILLION,
// default 100,000) through the broker to one receiver that reads ten
// times slower than the sender can send. Every message must arrive once,
// in order, intact, then io.EOF; and the broker must never have queued
// more for the receiver's connection than the receiver's window.
func TestStreamMillionToSlowReader(t *testing.T) {
	n := millionN(t)
	s := ferrytest.New(t, server.Options{MaxPayload: millionMaxPay})
	sender := dial(t, s, ferry.WithID("million-tx"))
	rx := dial(t, s, ferry.WithID(millionRecvID))
	ctx := timeout(t, 10*time.Minute)

	perMsg := calibrate(t, ctx, s, sender)
	// The receiver's schedule: message i is taken no earlier than
	// start + i × slowFactor × perMsg. It sleeps (workload shaping, not
	// synchronisation) whenever it is ahead of the schedule.
	interval := slowFactor * perMsg
	t.Logf("%d messages; sender %v/message, receiver paced to %v/message (≈ %v)",
		n, perMsg, interval, time.Duration(n)*interval)

	ln, err := rx.ListenStreams(millionSubject, ferry.WithWindow(millionWinMsgs, millionWinBytes))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sender.OpenStream(ctx, millionSubject, ferry.Target{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pace := func(i int) {
		if i%paceEvery != 0 {
			return
		}
		if ahead := time.Until(start.Add(time.Duration(i) * interval)); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- sendMillion(ctx, st, n) }()
	if err := recvMillion(ctx, in, n, pace); err != nil {
		st.Abort("receiver failed")
		t.Fatalf("receiver: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("sender: %v", err)
	}
	elapsed := time.Since(start)

	// The broker's own gauge: the most bytes ever queued in the server for
	// the receiver's connection. The broker relays no more than the
	// receiver granted and has not consumed, so it is bounded by
	//   window bytes + window msgs × frame overhead + control allowance
	//   = 16 KiB + 256 × 32 B + 4 KiB = 28 KiB.
	// (Asked on the sender's connection: an answer on the receiver's
	// would count in its gauge.)
	bound := millionWinBytes + millionWinMsgs*frameOverhead + controlAllow
	eps, err := sender.Endpoints(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var rxInfo *ferry.EndpointInfo
	for i := range eps {
		if eps[i].ID == millionRecvID {
			rxInfo = &eps[i]
		}
	}
	if rxInfo == nil {
		t.Fatalf("receiver %q not among the endpoints %+v", millionRecvID, eps)
	}
	t.Logf("%d messages in %v; receiver's peak pending %d bytes (bound %d)", n, elapsed, rxInfo.PeakPending, bound)
	if rxInfo.PeakPending > bound {
		t.Errorf("the server queued up to %d bytes for the receiver, more than its window allows (%d)", rxInfo.PeakPending, bound)
	}
	if rxInfo.PeakPending < millionPayload {
		// A gauge that never counted a message measures nothing.
		t.Errorf("receiver's peak pending %d bytes: not even one message counted", rxInfo.PeakPending)
	}
}
