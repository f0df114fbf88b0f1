package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/ferrymq/ferry"
)

// printer writes one line per message to w, in a single Write each, so a
// reader on a pipe sees every message as soon as it is printed.
type printer struct {
	mu     sync.Mutex // guards w and buf
	w      io.Writer
	buf    bytes.Buffer
	format func(*bytes.Buffer, *ferry.Msg)
}

func newPrinter(w io.Writer, format func(*bytes.Buffer, *ferry.Msg)) *printer {
	return &printer{w: w, format: format}
}

// print writes m as one line.
func (p *printer) print(m *ferry.Msg) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Reset()
	p.format(&p.buf, m)
	if b := p.buf.Bytes(); len(b) == 0 || b[len(b)-1] != '\n' {
		p.buf.WriteByte('\n')
	}
	_, err := p.w.Write(p.buf.Bytes())
	return err
}

// formatPayload prints the payload alone.
func formatPayload(b *bytes.Buffer, m *ferry.Msg) { b.Write(m.Data) }

// formatListen prints "MODE from SENDER SUBJECT: PAYLOAD".
func formatListen(b *bytes.Buffer, m *ferry.Msg) {
	fmt.Fprintf(b, "%s from %s %s: ", m.Mode, m.From, m.Subject)
	b.Write(m.Data)
}

// jsonMsg is the --json form of a received message. Exactly one of Payload
// (when the payload is valid UTF-8) and PayloadBase64 is present.
type jsonMsg struct {
	Subject       string              `json:"subject"`
	Reply         string              `json:"reply"`
	From          string              `json:"from"`
	Mode          string              `json:"mode"`
	Headers       map[string][]string `json:"headers"`
	Payload       *string             `json:"payload,omitempty"`
	PayloadBase64 []byte              `json:"payload_base64,omitempty"`
}

// jsonHelp documents the --json output in the help of every command that has it.
const jsonHelp = `With --json each message is one JSON object per line:
  {"subject":"...","reply":"...","from":"...","mode":"publish|unicast|...",
   "headers":{"key":["value",...]},"payload":"..."}
"payload" holds the payload as a string when it is valid UTF-8; otherwise it
is absent and "payload_base64" holds the payload in standard base64. Header
values keep their order per key.`

// formatJSON prints m as one JSON object.
func formatJSON(b *bytes.Buffer, m *ferry.Msg) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(toJSONMsg(m)) // cannot fail: strings, maps and bytes only
}

func toJSONMsg(m *ferry.Msg) jsonMsg {
	j := jsonMsg{
		Subject: m.Subject,
		Reply:   m.Reply,
		From:    m.From,
		Mode:    m.Mode.String(),
		Headers: map[string][]string{},
	}
	for _, f := range m.Header {
		j.Headers[f.Key] = append(j.Headers[f.Key], f.Value)
	}
	if utf8.Valid(m.Data) {
		s := string(m.Data)
		j.Payload = &s
	} else {
		j.PayloadBase64 = m.Data
	}
	return j
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
