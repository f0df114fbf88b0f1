// Package stream holds the pure flow-control arithmetic of Ferry's streams
// and channels: credit windows granted by receivers, and the fan-out rule
// that paces a stream with several receivers to the slowest of them. It has
// no I/O and no clock; the broker drives it.
//
// Credits are cumulative: a receiver's grants add up over the life of the
// stream, and so does what the sender has sent. A stream to several
// receivers lets the sender send what every receiver has granted — the
// minimum of their cumulative grants — so no receiver is ever sent more than
// its window and the broker never buffers beyond the windows.
package stream
