//go:build race

package gateway

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
