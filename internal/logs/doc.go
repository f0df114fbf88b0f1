// Package logs manages Ferry's logs and their consumers: the definitions of
// the logs (name, subject patterns, storage, sync policy, retention,
// dedupe), the routing of published messages into every log whose
// patterns match, and consumers that read a log and track what was
// delivered and acknowledged.
//
// The package has no transport. The broker drives a Manager through a few
// calls (Append, Matches, Consumer, Fetch, Ack) and gives it a Publish
// function for what the manager sends on its own (dead letters) and a
// Deliver function for push consumers. Time comes from an injected
// clock.Clock.
//
// # Persistence
//
// With Config.Dir set, log definitions live in Dir/logs.json, each file log's
// records in Dir/logs/NAME (see internal/logstore), and each durable
// consumer's position in Dir/consumers/LOG/NAME.json. Every JSON file is
// written atomically: a temporary file, fsync, rename, fsync of the
// directory. With Dir empty everything lives in memory.
//
// # Consumers
//
// A consumer delivers a log's records in sequence order from its start
// position. Under AckEach and AckCumulative a delivered record stays
// pending until acknowledged; after AckWait it falls due and is delivered
// again, and once it has been delivered MaxDeliveries times and falls due
// again it is published to the consumer's dead-letter subject instead and
// counted as done. Everything at or below the ack floor is done, and every
// sequence between the ack floor and the next new sequence is either
// pending or done.
//
// At most MaxAckPending deliveries await acknowledgement at a time: beyond
// that no new record goes out until an ack makes room (redeliveries still
// do).
//
// Several handles on one named consumer share its state, so concurrent
// Fetch calls split the records between them (a work queue); separate
// consumers each see every record (fan-out).
//
// A push consumer (one with a DeliverSubject) has a goroutine of its own
// that sends its records through Deliver, in order, under the same rules;
// see push.go. It stops when the consumer, its log or the manager closes.
package logs
