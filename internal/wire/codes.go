package wire

// Code is an error code carried by an ERR frame. The table below is the one
// place codes are defined; docs/protocol.md lists the same table.
type Code uint16

// Error codes. Codes below 100 close the connection (the server sends ERR
// and then closes); codes from 100 on leave it usable.
const (
	CodeProtocol      Code = 1  // malformed frame or unexpected op
	CodeVersion       Code = 2  // unsupported protocol version
	CodeHandshake     Code = 3  // no CONNECT within the handshake deadline, or CONNECT refused
	CodeFrameTooLarge Code = 4  // frame longer than the server's limit
	CodeIDInUse       Code = 5  // another live connection holds the endpoint ID
	CodeInvalidID     Code = 6  // endpoint ID is not a valid ID
	CodeSlowConsumer  Code = 7  // outbound buffer exceeded the pending limit
	CodeIdleTimeout   Code = 8  // no frame (not even PONG) within the idle timeout
	CodeShutdown      Code = 9  // server is shutting down
	CodeTooManyConns  Code = 10 // server connection limit reached

	CodeInvalidSubject  Code = 100 // subject or pattern failed validation
	CodePayloadTooLarge Code = 101 // payload over the limit
	CodeHeadersTooLarge Code = 102 // headers over the limit
	CodeTooManySubs     Code = 103 // subscriptions per connection limit reached
	CodeUnknownSID      Code = 104 // UNSUB of a subscription ID that does not exist
	CodeNoResponders    Code = 105 // nobody could receive a request
	CodeInvalidTarget   Code = 106 // target is malformed or names no such thing
	CodeNotSupported    Code = 107 // target mode or feature not supported by this server
	CodeDuplicateSID    Code = 108 // SUB reused a live subscription ID
	CodeInvalidHeaders  Code = 109 // header block is malformed
	CodeInvalidMeta     Code = 110 // labels, region or location failed validation
	CodeNotMember       Code = 111 // LEAVE of a group the endpoint has not joined
	CodeLogNotFound     Code = 112 // LOG names a log or consumer that does not exist
	CodeLogExists       Code = 113 // the log exists, or the consumer exists with another configuration
	CodeLogInvalid      Code = 114 // bad log or consumer definition or argument
	CodeLogReadOnly     Code = 115 // the log cannot store: read-only after a write failure, closed, or full
)

// Fatal reports whether the server closes the connection after sending c.
func (c Code) Fatal() bool { return c < 100 }

var codeNames = map[Code]string{
	CodeProtocol: "protocol error", CodeVersion: "unsupported version",
	CodeHandshake: "handshake failed", CodeFrameTooLarge: "frame too large",
	CodeIDInUse: "endpoint ID in use", CodeInvalidID: "invalid endpoint ID",
	CodeSlowConsumer: "slow consumer", CodeIdleTimeout: "idle timeout",
	CodeShutdown: "server shutting down", CodeTooManyConns: "too many connections",
	CodeInvalidSubject: "invalid subject", CodePayloadTooLarge: "payload too large",
	CodeHeadersTooLarge: "headers too large", CodeTooManySubs: "too many subscriptions",
	CodeUnknownSID: "unknown subscription", CodeNoResponders: "no responders",
	CodeInvalidTarget: "invalid target", CodeNotSupported: "not supported",
	CodeDuplicateSID: "duplicate subscription ID", CodeInvalidHeaders: "invalid headers",
	CodeInvalidMeta: "invalid endpoint metadata", CodeNotMember: "not a group member",
	CodeLogNotFound: "log not found", CodeLogExists: "log exists",
	CodeLogInvalid: "invalid log request", CodeLogReadOnly: "log not writable",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "unknown error"
}
