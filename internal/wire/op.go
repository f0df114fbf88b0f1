package wire

import "fmt"

// Version is the protocol version this package speaks. A CONNECT carrying
// another version is refused with CodeVersion.
const Version = 1

// HeaderSize is the size of a frame's length prefix.
const HeaderSize = 4

// Op identifies a frame type.
type Op uint8

// Frame types. Client-to-server: Connect, Pub, Sub, Unsub, Meta, Join,
// Leave, Query, Log, Ping, Pong. Server-to-client: Info, Msg, Ok, Err, Result,
// Ping, Pong.
const (
	OpConnect Op = 1
	OpInfo    Op = 2
	OpPub     Op = 3
	OpSub     Op = 4
	OpUnsub   Op = 5
	OpMsg     Op = 6
	OpPing    Op = 7
	OpPong    Op = 8
	OpErr     Op = 9
	OpOk      Op = 10
	OpMeta    Op = 11
	OpJoin    Op = 12
	OpLeave   Op = 13
	OpQuery   Op = 14
	OpResult  Op = 15

	OpStreamOpen   Op = 16
	OpStreamData   Op = 17
	OpStreamCredit Op = 18
	OpStreamClose  Op = 19

	OpLog Op = 20
)

var opNames = [...]string{
	OpConnect: "CONNECT", OpInfo: "INFO", OpPub: "PUB", OpSub: "SUB",
	OpUnsub: "UNSUB", OpMsg: "MSG", OpPing: "PING", OpPong: "PONG",
	OpErr: "ERR", OpOk: "OK", OpMeta: "META", OpJoin: "JOIN", OpLeave: "LEAVE",
	OpQuery: "QUERY", OpResult: "RESULT", OpStreamOpen: "STREAM_OPEN",
	OpStreamData: "STREAM_DATA", OpStreamCredit: "STREAM_CREDIT", OpStreamClose: "STREAM_CLOSE",
	OpLog: "LOG",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("OP(%d)", uint8(o))
}

// Valid reports whether o is a known op.
func (o Op) Valid() bool { return o >= OpConnect && o <= OpLog }

// Mode is a routing mode: who may receive a PUB.
type Mode uint8

// Routing modes. ModePublish reaches topic subscriptions matching the
// subject; the others name a target (see docs/patterns.md).
const (
	ModePublish   Mode = 0
	ModeUnicast   Mode = 1
	ModeBroadcast Mode = 2
	ModeMulticast Mode = 3
	ModeAnycast   Mode = 4
	maxMode            = ModeAnycast
)

var modeNames = [...]string{"publish", "unicast", "broadcast", "multicast", "anycast"}

func (m Mode) String() string {
	if m <= maxMode {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Scope is a bit set naming which kinds of sends a subscription receives.
// The zero value means ScopeTopic.
type Scope uint8

// Subscription scopes.
const (
	ScopeTopic  Scope = 1 << iota // plain publishes on the subject
	ScopeInbox                    // sends targeted at this endpoint: unicast, broadcast, selector multicast, anycast
	ScopeGroup                    // sends to multicast groups the endpoint joined
	ScopeStream                   // streams and channels opened to this endpoint or subject
	scopeAll    = ScopeTopic | ScopeInbox | ScopeGroup | ScopeStream
)

// Normalize returns ScopeTopic for the zero value and s otherwise.
func (s Scope) Normalize() Scope {
	if s == 0 {
		return ScopeTopic
	}
	return s
}
