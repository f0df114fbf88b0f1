//go:build !race

package ferry

const raceEnabled = false
