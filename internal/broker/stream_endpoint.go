package broker

// addStream registers a stream the endpoint opened under its own ID; false
// when the ID is taken.
func (e *Endpoint) addStream(id uint64, s *streamSide) bool {
	e.smu.Lock()
	defer e.smu.Unlock()
	if e.streams == nil {
		e.streams = make(map[uint64]*streamSide)
	}
	if _, taken := e.streams[id]; taken {
		return false
	}
	e.streams[id] = s
	return true
}

// addAcceptedStream registers a stream opened to the endpoint under a new
// even ID, which it returns.
func (e *Endpoint) addAcceptedStream(s *streamSide) uint64 {
	e.smu.Lock()
	defer e.smu.Unlock()
	if e.streams == nil {
		e.streams = make(map[uint64]*streamSide)
	}
	e.nextStream += 2
	e.streams[e.nextStream] = s
	return e.nextStream
}

func (e *Endpoint) stream(id uint64) *streamSide {
	e.smu.Lock()
	defer e.smu.Unlock()
	return e.streams[id]
}

func (e *Endpoint) removeStream(id uint64) {
	e.smu.Lock()
	delete(e.streams, id)
	e.smu.Unlock()
}

// takeStreams empties the endpoint's stream table and returns what it held.
func (e *Endpoint) takeStreams() []*streamSide {
	e.smu.Lock()
	defer e.smu.Unlock()
	out := make([]*streamSide, 0, len(e.streams))
	for _, s := range e.streams {
		out = append(out, s)
	}
	e.streams = nil
	return out
}
