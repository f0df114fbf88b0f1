// Package broker is Ferry's core: endpoints, subscriptions, targets and
// delivery. It has no network, files or wall clock; transports (the front
// doors in internal/gateway) drive it and receive messages through Sink.
//
// Invariants:
//   - A message is delivered by calling Sink.Deliver synchronously during
//     Publish; sinks copy what they keep and never block.
//   - One publisher's messages reach each subscription in publish order,
//     because Publish delivers before it returns and each sink keeps order.
//   - Subscriptions sharing a group on the same pattern form one queue group:
//     each message goes to one member, round-robin.
package broker
