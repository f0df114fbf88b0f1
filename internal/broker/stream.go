package broker

import (
	"fmt"

	"github.com/ferrymq/ferry/internal/stream"
)

// OpenStream opens a stream (or, with StreamBidi, a channel) from ep to the
// spec's target on its subject. Acceptors are endpoints with a stream-scope
// subscription matching the subject: all of them for a subject, broadcast
// or multicast target; exactly one for unicast and anycast. A channel needs
// exactly one. It returns the number of acceptors; each gets a STREAM_OPEN
// and starts granting credit.
func (b *Broker) OpenStream(ep *Endpoint, spec StreamSpec) (int, error) {
	if err := b.cfg.Subjects.ValidatePublishBytes(spec.Subject); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	}
	if spec.ID == 0 || spec.ID%2 == 0 {
		return 0, fmt.Errorf("%w: stream ID %d must be odd and non-zero", ErrInvalidTarget, spec.ID)
	}
	if len(spec.Headers) > b.cfg.MaxHeaders {
		return 0, fmt.Errorf("%w: %d bytes, limit is %d", ErrHeadersTooLarge, len(spec.Headers), b.cfg.MaxHeaders)
	}
	bidi := spec.Flags&StreamBidi != 0
	if bidi && spec.Target.Mode != ModeUnicast && spec.Target.Mode != ModeAnycast {
		return 0, fmt.Errorf("%w: a channel goes to one endpoint: use unicast or anycast", ErrInvalidTarget)
	}
	eps, err := b.streamAcceptors(ep, &spec)
	if err != nil || len(eps) == 0 {
		return 0, err
	}
	r := &relay{b: b, opener: ep, openID: spec.ID, flags: spec.Flags, legs: make(map[uint64]*leg), fan: stream.NewFanout(),
		info: newRelayInfo(b, &spec)}
	r.back.Grant(spec.Window)
	if !ep.addStream(spec.ID, &streamSide{r: r}) {
		return 0, fmt.Errorf("%w: stream %d is already open", ErrInvalidTarget, spec.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, acc := range eps {
		l := &leg{key: uint64(i + 1), ep: acc}
		open := StreamFrame{Kind: StreamOpenKind, Flags: spec.Flags, Subject: spec.Subject,
			From: []byte(ep.id), Headers: spec.Headers, Credit: spec.Window}
		if s := scopedSub(acc, ScopeStream, spec.Subject); s != nil && !bidi && LossyPolicy(s.backpressure) {
			l.lossy = true
			open.Backpressure, open.Limit = s.backpressure, s.limit
		}
		l.id = acc.addAcceptedStream(&streamSide{r: r, leg: l})
		open.Stream = l.id
		r.legs[l.key] = l
		if !l.lossy {
			r.fan.Add(l.key)
		}
		if !acc.sink.Stream(&open) {
			r.dropLegLocked(l)
			r.fan.Remove(l.key)
		}
	}
	if len(r.legs) == 0 {
		r.closeLocked()
		return 0, nil
	}
	r.checkUnpacedLocked()
	if bidi { // tell the dialer who accepted, before its OK
		for _, l := range r.legs {
			ep.sink.Stream(&StreamFrame{Kind: StreamOpenKind, Stream: spec.ID, Flags: spec.Flags, Subject: spec.Subject, From: []byte(l.ep.id)})
		}
	}
	b.stats.streams.Add(1)
	return len(r.legs), nil
}

// streamAcceptors resolves a stream's target to the endpoints that accept
// it: each has a stream-scope subscription matching the subject.
func (b *Broker) streamAcceptors(sender *Endpoint, spec *StreamSpec) ([]*Endpoint, error) {
	t := &spec.Target
	se, err := b.selector(t.Where)
	if err != nil {
		return nil, err
	}
	accepts := func(ep *Endpoint) bool {
		return se.admits(ep) && scopedSub(ep, ScopeStream, spec.Subject) != nil
	}
	var out []*Endpoint
	switch t.Mode {
	case ModeUnicast:
		if ep, ok := b.Endpoint(string(t.To)); ok && accepts(ep) {
			out = append(out, ep)
		}
	case ModePublish, ModeBroadcast, ModeMulticast:
		eps := b.allEndpoints()
		if len(t.To) > 0 {
			if g := b.group(t.To); g != nil {
				eps = g.memberList()
			} else {
				eps = nil
			}
		}
		for _, ep := range eps {
			if accepts(ep) {
				out = append(out, ep)
			}
		}
	case ModeAnycast:
		return b.streamAnycast(sender, t, se, spec.Subject), nil
	default:
		return nil, fmt.Errorf("%w: routing mode %d", ErrInvalidTarget, t.Mode)
	}
	return out, nil
}

func (b *Broker) streamAnycast(sender *Endpoint, t *Target, se *selEntry, subj []byte) []*Endpoint {
	sc := getScratch()
	defer putScratch(sc)
	eps, turn := b.allEndpoints(), &se.turn
	if len(t.To) > 0 {
		g := b.group(t.To)
		if g == nil {
			return nil
		}
		eps, turn = g.memberList(), &g.turn
	}
	for _, ep := range eps {
		if se.admits(ep) {
			if s := scopedSub(ep, ScopeStream, subj); s != nil {
				sc.add(ep, s, t.Policy)
			}
		}
	}
	key := t.Key
	if len(key) == 0 {
		key = subj
	}
	i := bestIndex(sc, t, sender, key, turn.Add(1)-1)
	if i < 0 {
		return nil
	}
	return []*Endpoint{sc.eps[i]}
}

// StreamData forwards one message on stream id from ep: from the opener to
// every acceptor, or, on a channel, from the acceptor to the opener. It is
// an error to send past the granted window; data for a stream that has
// already ended is dropped silently (it crossed a close).
func (b *Broker) StreamData(ep *Endpoint, id, seq uint64, headers, payload []byte) error {
	return withStream(ep, id, func(side *streamSide, r *relay) error {
		f := StreamFrame{Kind: StreamDataKind, Seq: seq, Headers: headers, Payload: payload}
		if side.leg != nil {
			return r.backDataLocked(side.leg, &f)
		}
		return r.forwardLocked(id, &f)
	})
}

// forwardLocked relays the opener's message to every acceptor.
func (r *relay) forwardLocked(id uint64, f *StreamFrame) error {
	if r.openerDone {
		return fmt.Errorf("%w: stream %d: data after close", ErrInvalidTarget, id)
	}
	if r.unpaced && r.fan.Len() == 0 {
		// no paced leg: nothing to account (UnpacedWindow)
	} else if err := r.fan.Send(len(f.Payload)); err != nil {
		r.abortLocked(CloseWindowExceed, err.Error())
		return fmt.Errorf("%w: stream %d: %w", ErrInvalidTarget, id, err)
	}
	for _, l := range r.legs {
		f.Stream = l.id
		if !l.ep.sink.Stream(f) {
			r.legGoneLocked(l, ClosePeerGone, "receiver connection closed")
		}
	}
	r.b.stats.streamMsgs.Add(1)
	r.info.relayed(len(f.Payload), true)
	r.checkStallLocked()
	return nil
}

// backDataLocked forwards channel data from the acceptor to the opener.
func (r *relay) backDataLocked(l *leg, f *StreamFrame) error {
	if r.flags&StreamBidi == 0 {
		return fmt.Errorf("%w: stream %d is one-way; only its opener sends", ErrInvalidTarget, l.id)
	}
	if r.acceptorDone {
		return fmt.Errorf("%w: stream %d: data after close", ErrInvalidTarget, l.id)
	}
	if err := r.back.Take(len(f.Payload)); err != nil {
		r.abortLocked(CloseWindowExceed, err.Error())
		return fmt.Errorf("%w: stream %d: %w", ErrInvalidTarget, l.id, err)
	}
	f.Stream = r.openID
	if !r.opener.sink.Stream(f) {
		r.abortLocked(ClosePeerGone, "peer connection closed")
	}
	r.b.stats.streamMsgs.Add(1)
	r.info.relayed(len(f.Payload), false)
	return nil
}
