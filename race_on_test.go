//go:build race

package ferry

// raceEnabled: sync.Pool drops items at random under the race detector,
// so allocation bounds do not hold.
const raceEnabled = true
