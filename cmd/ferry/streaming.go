package main

// Helpers shared by the streaming commands: stream and channel.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ferrymq/ferry"
	"github.com/spf13/cobra"
)

// targetFlags choose the receiver of a stream or channel opened to an
// endpoint: @ID, or anycast with a policy among candidates.
type targetFlags struct {
	where  string
	group  string
	policy policyFlag
	near   locationFlag
	key    string
}

func addTargetFlags(cmd *cobra.Command) *targetFlags {
	tf := &targetFlags{}
	f := cmd.Flags()
	f.StringVarP(&tf.where, "where", "w", "", "with anycast: only candidates whose labels match this selector, e.g. 'type=gps-dashboard'")
	f.StringVarP(&tf.group, "group", "g", "", "with anycast: choose among the members of this group (see 'ferry join')")
	f.VarP(&tf.policy, "policy", "p", policyUsage("with anycast: how to choose the receiver"))
	f.Var(&tf.near, "near", "with anycast --policy nearest: measure distance from this point LAT,LON instead of --location")
	f.StringVar(&tf.key, "key", "", "with anycast --policy hash: the key that picks the receiver (default: the subject)")
	return tf
}

// anycastOnly lists the flags that make sense only for an anycast target.
var anycastOnly = []string{"where", "group", "policy", "near", "key"}

// parse turns a TARGET argument, "@ID" or "anycast", into a target. The
// flags only anycast uses are rejected with @ID.
func (tf *targetFlags) parse(cmd *cobra.Command, arg string) (ferry.Target, error) {
	changed := cmd.Flags().Changed
	switch {
	case arg == "anycast":
		if err := checkPolicyFlags(tf.policy.p, tf.near.set, changed("key")); err != nil {
			return ferry.Target{}, err
		}
		return anycastTarget(tf.policy.p, tf.group, tf.where, tf.near, tf.key), nil
	case strings.HasPrefix(arg, "@"):
		id := arg[1:]
		if id == "" {
			return ferry.Target{}, usageErrorf("missing endpoint ID after @")
		}
		for _, name := range anycastOnly {
			if changed(name) {
				return ferry.Target{}, usageErrorf("--%s is for anycast, not for %s", name, arg)
			}
		}
		return ferry.ToEndpoint(id), nil
	}
	return ferry.Target{}, usageErrorf("TARGET %q is neither @ID nor anycast", arg)
}

// lineReader reads stdin line by line (without the line endings) on its
// own goroutine, since a read from stdin cannot be cancelled. The lines
// channel is closed at EOF; a read error is then available from err.
type lineReader struct {
	lines chan []byte
	stop  chan struct{}
	err   error // set before lines is closed
}

func newLineReader(a *app) *lineReader {
	r := &lineReader{lines: make(chan []byte), stop: make(chan struct{})}
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(a.stdin)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			select {
			case r.lines <- append([]byte(nil), sc.Bytes()...):
			case <-r.stop:
				return
			}
		}
		if err := sc.Err(); err != nil {
			r.err = fmt.Errorf("read stdin: %w", err)
		}
	}()
	return r
}

// close lets the reading goroutine go once it has read its next line.
func (r *lineReader) close() { close(r.stop) }

// streamEnd describes why a stream or channel ended, for the user, from
// the client's error on: "stream aborted: REASON", "stream peer gone: ...",
// "cut from the stream as a slow receiver: ..." (without the client's
// "stream N (SUBJECT)" prefix).
func streamEnd(err error) string {
	text := errorText(err)
	for _, s := range endErrors {
		if errors.Is(err, s) {
			if i := strings.Index(text, errorText(s)); i >= 0 {
				return text[i:]
			}
			break
		}
	}
	return text
}

// abortReason is the reason the aborting party gave for an aborted stream,
// or streamEnd for the other ends.
func abortReason(err error) string {
	text := streamEnd(err)
	if errors.Is(err, ferry.ErrStreamAborted) {
		if r, ok := strings.CutPrefix(text, errorText(ferry.ErrStreamAborted)+": "); ok {
			return r
		}
	}
	return text
}

// endErrors are the errors that end a stream or channel, most specific
// first.
var endErrors = []error{
	ferry.ErrSlowReceiver, ferry.ErrWindowExceeded, ferry.ErrPeerGone, ferry.ErrStreamAborted,
	ferry.ErrStreamClosed, ferry.ErrDisconnected, ferry.ErrClosed,
}

// isEndOfStream reports whether err ended a stream or channel on the other
// side's decision or failure, as opposed to our own connection failing.
func isEndOfStream(err error) bool {
	return errors.Is(err, ferry.ErrStreamAborted) || errors.Is(err, ferry.ErrPeerGone) ||
		errors.Is(err, ferry.ErrSlowReceiver) || errors.Is(err, ferry.ErrStreamClosed) ||
		errors.Is(err, ferry.ErrWindowExceeded)
}

// jsonStreamMsg is the --json form of a message received on a stream or
// channel. Exactly one of Payload and PayloadBase64 is present, as in
// jsonMsg.
type jsonStreamMsg struct {
	Stream        uint64              `json:"stream,omitempty"`
	Channel       uint64              `json:"channel,omitempty"`
	Seq           uint64              `json:"seq"`
	From          string              `json:"from"`
	Subject       string              `json:"subject,omitempty"`
	Service       string              `json:"service,omitempty"`
	Headers       map[string][]string `json:"headers"`
	StreamHeaders map[string][]string `json:"stream_headers,omitempty"`
	Payload       *string             `json:"payload,omitempty"`
	PayloadBase64 []byte              `json:"payload_base64,omitempty"`
}

func (j *jsonStreamMsg) setBody(m *ferry.Msg) {
	j.Seq = uint64(m.Seq)
	j.Headers = headerMap(m.Header)
	if utf8.Valid(m.Data) {
		s := string(m.Data)
		j.Payload = &s
	} else {
		j.PayloadBase64 = m.Data
	}
}

// headerMap returns h as a map of each key's values, in order.
func headerMap(h ferry.Header) map[string][]string {
	m := map[string][]string{}
	for _, f := range h {
		m[f.Key] = append(m[f.Key], f.Value)
	}
	return m
}

// encodeJSONLine appends v as one line of JSON.
func encodeJSONLine(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings, numbers, maps and bytes only
}

// noStreamResponders is the error of a stream or channel that reached
// nobody.
func noStreamResponders(what, subject string, target ferry.Target) error {
	if target.Mode() == ferry.ModePublish {
		return fmt.Errorf("no responders: nobody accepts %s on %s", what, subject)
	}
	return fmt.Errorf("no responders: nobody accepts %s on %s (%s)", what, subject, target)
}

// checkWindow rejects a negative --window.
func checkWindow(n int) error {
	if n < 0 {
		return usageErrorf("--window must not be negative, got %d", n)
	}
	return nil
}

// windowOptions returns the stream options for a --window of n messages
// (0: the client's default).
func windowOptions(n int) []ferry.StreamOption {
	if n == 0 {
		return nil
	}
	return []ferry.StreamOption{ferry.WithWindow(n, 0)}
}
