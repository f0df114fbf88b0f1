package broker

import (
	"cmp"
	"slices"
	"time"

	"github.com/ferrymq/ferry/internal/stream"
)

// StreamView describes an open stream or channel.
type StreamView struct {
	ID        uint64           `json:"id"` // the opener's stream ID
	Opener    string           `json:"opener"`
	Subject   string           `json:"subject"`
	Mode      string           `json:"mode"`
	To        string           `json:"to,omitempty"`
	Where     string           `json:"where,omitempty"`
	Channel   bool             `json:"channel"`  // bidirectional
	CutSlow   bool             `json:"cut_slow"` // stalled receivers are cut
	Opened    time.Time        `json:"opened"`
	Receivers []StreamReceiver `json:"receivers"`
	Messages  uint64           `json:"messages"` // relayed so far, both ways
	Bytes     uint64           `json:"bytes"`
	// Credit is what the opener may still send (messages and bytes)
	// before its receivers grant more; Unpaced when no receiver paces it.
	Credit  stream.Credit `json:"credit"`
	Unpaced bool          `json:"unpaced"`
	// BackCredit is what the acceptor of a channel may still send.
	BackCredit *stream.Credit `json:"back_credit,omitempty"`
}

// StreamReceiver is one acceptor of a stream.
type StreamReceiver struct {
	ID     string `json:"id"`
	Stream uint64 `json:"stream"` // the acceptor's stream ID
	Lossy  bool   `json:"lossy"`  // drops rather than paces the opener
}

// Streams describes the open streams and channels, oldest first.
func (b *Broker) Streams() []StreamView {
	var relays []*relay
	for _, ep := range b.allEndpoints() {
		ep.smu.Lock()
		for _, side := range ep.streams {
			if side.leg == nil {
				relays = append(relays, side.r)
			}
		}
		ep.smu.Unlock()
	}
	out := make([]StreamView, 0, len(relays))
	for _, r := range relays { // not under smu: relay.mu comes first
		if v, ok := r.view(); ok {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b StreamView) int {
		return cmp.Or(a.Opened.Compare(b.Opened), cmp.Compare(a.Opener, b.Opener), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func (r *relay) view() (StreamView, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return StreamView{}, false
	}
	v := StreamView{
		ID: r.openID, Opener: r.opener.id, Subject: r.info.subject, Mode: r.info.mode.String(),
		To: r.info.to, Where: r.info.where, Channel: r.flags&StreamBidi != 0, CutSlow: r.flags&StreamCutSlow != 0,
		Opened: r.info.opened, Messages: r.info.msgs, Bytes: r.info.bytes, Unpaced: r.unpaced,
		Receivers: make([]StreamReceiver, 0, len(r.legs)),
	}
	told, sent := r.info.told, r.info.sent
	if told.Msgs > sent.Msgs {
		v.Credit.Msgs = told.Msgs - sent.Msgs
	}
	if told.Bytes > sent.Bytes {
		v.Credit.Bytes = told.Bytes - sent.Bytes
	}
	if v.Channel {
		c := r.back.Room()
		v.BackCredit = &c
	}
	for _, l := range r.legs {
		v.Receivers = append(v.Receivers, StreamReceiver{ID: l.ep.id, Stream: l.id, Lossy: l.lossy})
	}
	slices.SortFunc(v.Receivers, func(a, b StreamReceiver) int { return cmp.Compare(a.ID, b.ID) })
	return v, true
}

// relayInfo is what the dashboard shows of a relay; guarded by relay.mu.
type relayInfo struct {
	subject, to, where string
	mode               Mode
	opened             time.Time
	msgs, bytes        uint64        // relayed, both ways
	sent               stream.Credit // opener to acceptors
	told               stream.Credit // credit passed to the opener
}

func newRelayInfo(b *Broker, spec *StreamSpec) relayInfo {
	t := &spec.Target
	return relayInfo{subject: string(spec.Subject), to: string(t.To), where: string(t.Where),
		mode: t.Mode, opened: b.cfg.Clock.Now()}
}

// relayed counts one message; forward is opener to acceptors.
func (i *relayInfo) relayed(size int, forward bool) {
	i.msgs++
	i.bytes += uint64(size)
	if forward {
		i.sent.Msgs++
		i.sent.Bytes += uint64(size)
	}
}
