package audio

import "testing"

func TestEstimateMOS(t *testing.T) {
	tests := []struct {
		codec          string
		loss, rtt, jb  float64
		wantLo, wantHi float64
	}{
		{"pcmu", 0, 0, 40, 4.35, 4.45},    // ideal G.711: R ≈ 91.6
		{"pcma", 1, 40, 40, 4.1, 4.3},     // 1% loss
		{"pcmu", 5, 100, 60, 3.5, 3.8},    // 5% loss
		{"g722", 20, 100, 60, 2.0, 2.5},   // heavy loss
		{"pcmu", 0, 600, 100, 2.85, 2.95}, // d = 420 ms: Id 36.8, R 56.4
		{"opus", 3, 50, 40, 3.9, 4.2},     // Opus is more loss-robust
		{"pcmu", 100, 0, 40, 1.1, 1.2},    // nothing gets through: R 15.8
		{"unknown", 2, 0, 40, 3.1, 3.25},  // no PLC, Bpl 4.3: R 61.6
		{"pcmu", 0, 2000, 200, 1.0, 1.5},  // absurd delay
	}
	for _, tt := range tests {
		got := EstimateMOS(tt.codec, tt.loss, tt.rtt, tt.jb)
		if got < tt.wantLo || got > tt.wantHi {
			t.Errorf("EstimateMOS(%s, loss %.0f%%, rtt %.0f, jb %.0f) = %.2f, want %.2f..%.2f",
				tt.codec, tt.loss, tt.rtt, tt.jb, got, tt.wantLo, tt.wantHi)
		}
	}
	if a, b := EstimateMOS("opus", 5, 50, 40), EstimateMOS("pcmu", 5, 50, 40); a <= b {
		t.Errorf("opus %.2f should beat pcmu %.2f under loss", a, b)
	}
}
