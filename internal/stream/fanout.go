package stream

// Fanout paces one sender to several receivers ("legs"). Each leg grants
// credit on its own; the sender is granted the minimum of the legs'
// cumulative grants. Legs may leave, which can raise the minimum.
type Fanout struct {
	legs map[uint64]*Credit // cumulative grant per leg
	told Credit             // cumulative credit passed to the sender
	send Window             // the sender's window: Granted == told
}

// NewFanout returns a fanout with no legs.
func NewFanout() *Fanout { return &Fanout{legs: make(map[uint64]*Credit)} }

// Add adds a leg that has granted nothing yet.
func (f *Fanout) Add(leg uint64) { f.legs[leg] = &Credit{} }

// Len returns the number of legs.
func (f *Fanout) Len() int { return len(f.legs) }

// Grant records credit from a leg and returns the credit newly available to
// the sender (zero when another leg still holds it back).
func (f *Fanout) Grant(leg uint64, c Credit) Credit {
	g, ok := f.legs[leg]
	if !ok {
		return Credit{}
	}
	g.Msgs += c.Msgs
	g.Bytes += c.Bytes
	return f.release()
}

// Remove drops a leg and returns the credit its departure frees.
func (f *Fanout) Remove(leg uint64) Credit {
	if _, ok := f.legs[leg]; !ok {
		return Credit{}
	}
	delete(f.legs, leg)
	return f.release()
}

// release raises what the sender was told to the legs' minimum.
func (f *Fanout) release() Credit {
	if len(f.legs) == 0 {
		return Credit{}
	}
	m := f.min()
	var d Credit
	if m.Msgs > f.told.Msgs {
		d.Msgs = m.Msgs - f.told.Msgs
	}
	if m.Bytes > f.told.Bytes {
		d.Bytes = m.Bytes - f.told.Bytes
	}
	f.told.Msgs += d.Msgs
	f.told.Bytes += d.Bytes
	f.send.Grant(d)
	return d
}

func (f *Fanout) min() Credit {
	first := true
	var m Credit
	for _, g := range f.legs {
		if first {
			m, first = *g, false
			continue
		}
		m.Msgs = min(m.Msgs, g.Msgs)
		m.Bytes = min(m.Bytes, g.Bytes)
	}
	return m
}

// Send records one message of size bytes from the sender, or fails with
// ErrWindowExceeded.
func (f *Fanout) Send(size int) error { return f.send.Take(size) }

// Blocked reports whether the sender cannot send a message of size bytes.
func (f *Fanout) Blocked(size int) bool { return !f.send.Fits(size) }

// Laggard returns the leg holding the sender back: the one with the
// smallest grant in the unit the sender has run out of (messages, else
// bytes), when some other leg has granted more. Ties go to the lowest leg.
func (f *Fanout) Laggard() (leg uint64, ok bool) {
	if len(f.legs) < 2 {
		return 0, false
	}
	byMsgs := f.send.Room().Msgs == 0
	minV, maxV := ^uint64(0), uint64(0)
	for id, g := range f.legs {
		v := g.Bytes
		if byMsgs {
			v = g.Msgs
		}
		if v < minV || v == minV && id < leg {
			minV, leg = v, id
		}
		maxV = max(maxV, v)
	}
	return leg, maxV > minV
}
