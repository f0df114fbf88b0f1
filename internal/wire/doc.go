// Package wire encodes and decodes Ferry's native protocol frames.
//
// A frame is a 4-byte big-endian length, then one op byte, then the op's
// body. The length counts the op byte and the body. Bodies are built from
// unsigned varints, length-prefixed byte strings and 8-byte IEEE floats; each
// op's layout is documented on its type and in docs/protocol.md.
//
// The package works over bytes only: it never touches a network connection.
// Decoding never panics on malformed input and never allocates for the ops
// on the message path (PUB, MSG): decoded byte fields alias the frame body
// and are valid only until the next frame is read.
package wire
