package native

import (
	"fmt"
	"testing"
)

// BenchmarkPubSubLoopbackLarge is BenchmarkPubSubLoopback, 1 → 1, with the
// payload sizes where copying dominates.
func BenchmarkPubSubLoopbackLarge(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("subs=1/payload=%d", size), func(b *testing.B) {
			benchPubSub(b, 1, size)
		})
	}
}
