package wire

import "fmt"

// LogAction names what a LOG frame asks of the server's durable logs.
type LogAction uint8

// Log actions; the JSON bodies and answers are in docs/protocol.md, "Logs".
const (
	LogCreate  LogAction = 1 // define a log
	LogDelete  LogAction = 2 // delete a log and its data
	LogList    LogAction = 3 // describe every log
	LogInfo    LogAction = 4 // describe one log
	LogFetch   LogAction = 5 // read records through a consumer
	LogAck     LogAction = 6 // acknowledge one delivery
	LogAckUpTo LogAction = 7 // acknowledge every delivery up to a sequence
	LogNak     LogAction = 8 // ask for a delivery to be redelivered now
	// LogConsume creates (or opens) a push consumer, which the server then
	// feeds by publishing its records to the consumer's deliver subject.
	LogConsume LogAction = 9
	// LogDeleteConsumer deletes a durable consumer and its position.
	LogDeleteConsumer LogAction = 10
	maxLogAction                = LogDeleteConsumer
)

var logActionNames = [...]string{"", "create", "delete", "list", "info", "fetch", "ack", "ack_up_to", "nak", "consume", "delete_consumer"}

func (a LogAction) String() string {
	if a >= 1 && a <= maxLogAction {
		return logActionNames[a]
	}
	return fmt.Sprintf("log action %d", uint8(a))
}

// Log is a request about durable logs; the answer is a RESULT with the
// same Ref carrying JSON, or ERR.
//
//	ref uvarint | action byte | body bytes (JSON)
type Log struct {
	Ref    uint64
	Action LogAction
	Body   []byte
}

// Append appends l as a frame.
func (l *Log) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpLog)
	dst = appendUvarint(dst, l.Ref)
	dst = append(dst, byte(l.Action))
	dst = appendBytes(dst, l.Body)
	return endFrame(dst, start)
}

// Decode decodes a LOG body; Body aliases body.
func (l *Log) Decode(body []byte) error {
	d := decoder{b: body}
	l.Ref = d.uvarint("ref")
	l.Action = LogAction(d.byte1("action"))
	if l.Action == 0 || l.Action > maxLogAction {
		d.fail("log action")
	}
	l.Body = d.bytes("body")
	return d.done(OpLog)
}
