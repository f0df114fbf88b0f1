// Package native is the front door for Ferry's native TCP protocol: it
// accepts connections, performs the handshake, turns frames into broker
// calls and writes deliveries back, one coalescing flusher per connection,
// applying each subscription's backpressure policy on the way.
package native
