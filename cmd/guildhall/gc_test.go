package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: serve collects at serveGCPercent unless GOGC is set, when
// the runtime's own reading of it stands.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	tuneGC(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("GOGC unset: the collector's percent is %d, want %d", got, serveGCPercent)
	}
	tuneGC(func(name string) (string, bool) { return "50", name == "GOGC" })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: the percent was changed to %d", got)
	}
}
