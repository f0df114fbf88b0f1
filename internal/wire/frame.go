package wire

import "fmt"

// Frame is any decoded frame; Append re-encodes it.
type Frame interface {
	Append(dst []byte) []byte
}

// Empty is a frame with no body: PING or PONG.
type Empty struct{ Op Op }

// Append appends e as a frame.
func (e Empty) Append(dst []byte) []byte { return AppendEmpty(dst, e.Op) }

// Decode decodes the body of a frame of type op.
func Decode(op Op, body []byte) (Frame, error) {
	var f interface {
		Frame
		Decode([]byte) error
	}
	switch op {
	case OpConnect:
		f = new(Connect)
	case OpInfo:
		f = new(Info)
	case OpPub:
		f = new(Pub)
	case OpSub:
		f = new(Sub)
	case OpUnsub:
		f = new(Unsub)
	case OpMsg:
		f = new(Msg)
	case OpErr:
		f = new(Err)
	case OpOk:
		f = new(Ok)
	case OpMeta:
		f = new(Meta)
	case OpJoin, OpLeave:
		f = &Membership{Op: op}
	case OpQuery:
		f = new(Query)
	case OpResult:
		f = new(Result)
	case OpStreamOpen:
		f = new(StreamOpen)
	case OpStreamData:
		f = new(StreamData)
	case OpStreamCredit:
		f = new(StreamCredit)
	case OpStreamClose:
		f = new(StreamClose)
	case OpLog:
		f = new(Log)
	case OpPing, OpPong:
		if len(body) != 0 {
			return nil, fmt.Errorf("%v: %w: %d trailing bytes", op, ErrMalformed, len(body))
		}
		return Empty{op}, nil
	default:
		return nil, fmt.Errorf("%w: unknown op %d", ErrMalformed, uint8(op))
	}
	if err := f.Decode(body); err != nil {
		return nil, err
	}
	return f, nil
}
