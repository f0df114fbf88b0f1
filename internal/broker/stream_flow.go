package broker

import (
	"fmt"

	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/stream"
)

func bestIndex(sc *scratch, t *Target, sender *Endpoint, key []byte, turn uint64) int {
	return route.Best(sc.cands, route.Decision{Policy: t.Policy, Origin: origin(sender, t), Key: key, Turn: turn})
}

// StreamCredit records credit ep grants on stream id: an acceptor's grant
// paces the opener; on a channel, the opener's grant paces the acceptor.
func (b *Broker) StreamCredit(ep *Endpoint, id uint64, c stream.Credit) {
	withStream(ep, id, func(side *streamSide, r *relay) error {
		r.creditLocked(side, c)
		return nil
	})
}

// withStream runs fn with the relay of ep's stream id locked, unless the
// stream is unknown or already closed (frames that crossed a close).
func withStream(ep *Endpoint, id uint64, fn func(side *streamSide, r *relay) error) error {
	side := ep.stream(id)
	if side == nil {
		return nil
	}
	r := side.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	return fn(side, r)
}

func (r *relay) creditLocked(side *streamSide, c stream.Credit) {
	if side.leg == nil {
		if r.flags&StreamBidi == 0 || len(r.legs) == 0 {
			return
		}
		r.back.Grant(c)
		for _, l := range r.legs {
			l.ep.sink.Stream(&StreamFrame{Kind: StreamCreditKind, Stream: l.id, Credit: c})
		}
		return
	}
	if side.leg.lossy {
		return // a lossy leg never paces the opener
	}
	r.tellOpenerLocked(r.fan.Grant(side.leg.key, c))
	r.checkStallLocked()
}

// checkUnpacedLocked gives the opener UnpacedWindow, once, when the
// stream has legs but none of them paces it (every acceptor is lossy,
// from the open or after the paced ones left): the opener would
// otherwise wait for credit that never comes. From then on its data is
// not counted against a window while no paced leg remains.
func (r *relay) checkUnpacedLocked() {
	if r.unpaced || r.fan.Len() > 0 || len(r.legs) == 0 {
		return
	}
	r.unpaced = true
	r.tellOpenerLocked(UnpacedWindow)
}

func (r *relay) tellOpenerLocked(d stream.Credit) {
	if d.IsZero() || r.openerDone {
		return
	}
	r.info.told.Msgs, r.info.told.Bytes = r.info.told.Msgs+d.Msgs, r.info.told.Bytes+d.Bytes
	r.opener.sink.Stream(&StreamFrame{Kind: StreamCreditKind, Stream: r.openID, Credit: d})
}

// CloseStream ends ep's side of stream id. Code CloseEnd from the opener
// ends a one-way stream cleanly for every acceptor, and half-closes a
// channel; from an acceptor it leaves a one-way stream, and half-closes a
// channel. Any other code aborts the whole stream with the reason.
func (b *Broker) CloseStream(ep *Endpoint, id, code uint64, reason string) {
	withStream(ep, id, func(side *streamSide, r *relay) error {
		r.closeSideLocked(side, code, reason)
		return nil
	})
}

func (r *relay) closeSideLocked(side *streamSide, code uint64, reason string) {
	bidi := r.flags&StreamBidi != 0
	switch {
	case code != CloseEnd:
		r.abortLocked(CloseAborted, reason)
	case side.leg == nil && !bidi:
		r.notifyLegsLocked(CloseEnd, reason)
		r.closeLocked()
	case side.leg == nil:
		r.openerDone = true
		r.notifyLegsLocked(CloseEnd, reason)
		r.closeIfDoneLocked()
	case !bidi:
		r.legGoneLocked(side.leg, CloseEnd, "")
	default:
		r.acceptorDone = true
		r.opener.sink.Stream(&StreamFrame{Kind: StreamCloseKind, Stream: r.openID, Code: CloseEnd, Reason: reason})
		r.closeIfDoneLocked()
	}
}

func (r *relay) closeIfDoneLocked() {
	if r.openerDone && r.acceptorDone {
		r.closeLocked()
	}
}

// legGoneLocked removes an acceptor from a stream. A channel without its
// acceptor is aborted; a one-way stream goes on with the others, the
// departed one told why (unless it left by itself), and ends when none is
// left.
func (r *relay) legGoneLocked(l *leg, code uint64, reason string) {
	if r.flags&StreamBidi != 0 {
		r.abortLocked(ClosePeerGone, "peer left the channel")
		return
	}
	if code != CloseEnd {
		l.ep.sink.Stream(&StreamFrame{Kind: StreamCloseKind, Stream: l.id, Code: code, Reason: reason})
	}
	r.dropLegLocked(l)
	if len(r.legs) == 0 {
		r.opener.sink.Stream(&StreamFrame{Kind: StreamCloseKind, Stream: r.openID, Code: CloseNoReceivers, Reason: "every receiver left the stream"})
		r.closeLocked()
		return
	}
	r.tellOpenerLocked(r.fan.Remove(l.key))
	r.checkUnpacedLocked()
}

func (r *relay) dropLegLocked(l *leg) {
	delete(r.legs, l.key)
	l.ep.removeStream(l.id)
	if r.stall != nil && r.stallOn == l.key {
		r.stall.Stop()
		r.stall = nil
	}
}

func (r *relay) notifyLegsLocked(code uint64, reason string) {
	for _, l := range r.legs {
		l.ep.sink.Stream(&StreamFrame{Kind: StreamCloseKind, Stream: l.id, Code: code, Reason: reason})
	}
}

// abortLocked ends the stream for every party with code and reason.
func (r *relay) abortLocked(code uint64, reason string) {
	r.notifyLegsLocked(code, reason)
	r.opener.sink.Stream(&StreamFrame{Kind: StreamCloseKind, Stream: r.openID, Code: code, Reason: reason})
	r.closeLocked()
}

// closeLocked forgets the stream on every endpoint.
func (r *relay) closeLocked() {
	r.closed = true
	for _, l := range r.legs {
		r.dropLegLocked(l)
	}
	r.opener.removeStream(r.openID)
	if r.stall != nil {
		r.stall.Stop()
		r.stall = nil
	}
}

// checkStallLocked arms, for a cut-slow stream whose sender is blocked by
// one receiver while others have room, a timer that cuts that receiver.
func (r *relay) checkStallLocked() {
	if r.flags&StreamCutSlow == 0 {
		return
	}
	lag, ok := r.fan.Laggard()
	blocked := r.fan.Blocked(0)
	if !ok || !blocked {
		if r.stall != nil {
			r.stall.Stop()
			r.stall = nil
		}
		return
	}
	if r.stall != nil && r.stallOn == lag {
		return
	}
	if r.stall != nil {
		r.stall.Stop()
	}
	r.stallOn = lag
	r.stall = r.b.cfg.Clock.AfterFunc(r.b.cfg.StallTimeout, func() { r.cutStalled(lag) })
	r.b.stats.streamStalls.Add(1)
	if l := r.legs[lag]; l != nil {
		r.b.RecordEvent(EventStreamStall, fmt.Sprintf("stream %d on %s from %s: receiver %s holds it back; cut in %v unless it grants credit",
			r.openID, r.info.subject, r.opener.id, l.ep.id, r.b.cfg.StallTimeout))
	}
}

func (r *relay) cutStalled(key uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.legs[key]
	if r.closed || l == nil || r.stallOn != key || r.stall == nil {
		return
	}
	r.stall = nil
	r.b.RecordEvent(EventStreamCut, fmt.Sprintf("stream %d on %s from %s: receiver %s cut after granting no credit for %v",
		r.openID, r.info.subject, r.opener.id, l.ep.id, r.b.cfg.StallTimeout))
	r.legGoneLocked(l, CloseSlow, fmt.Sprintf("cut from the stream: no credit for %v while other receivers kept up", r.b.cfg.StallTimeout))
	r.checkStallLocked()
}

// streamsGone ends every stream ep took part in; it runs on disconnect.
func (b *Broker) streamsGone(ep *Endpoint) {
	for _, side := range ep.takeStreams() {
		r := side.r
		r.mu.Lock()
		switch {
		case r.closed:
		case side.leg == nil:
			r.abortLocked(ClosePeerGone, "sender disconnected")
		default:
			r.legGoneLocked(side.leg, ClosePeerGone, "receiver disconnected")
		}
		r.mu.Unlock()
	}
}
