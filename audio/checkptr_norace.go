//go:build !race

package audio

// skipLowStreamIDs is only needed under the race detector; see
// checkptr_race.go.
func skipLowStreamIDs() {}
