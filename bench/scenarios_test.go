package bench

import (
	"testing"
	"time"
)

// The comparison of many actions with one alternates equal windows of at
// most 500 ms, an even number of them, so each side gets half the time.
func TestWindowsOf(t *testing.T) {
	tests := []struct {
		d      time.Duration
		n      int
		window time.Duration
	}{
		{20 * time.Second, 40, 500 * time.Millisecond},
		{5 * time.Second, 10, 500 * time.Millisecond},
		{1300 * time.Millisecond, 4, 325 * time.Millisecond},
		{500 * time.Millisecond, 2, 250 * time.Millisecond},
		{100 * time.Millisecond, 2, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		n, w := windowsOf(tt.d)
		if n != tt.n || w != tt.window {
			t.Errorf("windowsOf(%v) = %d, %v; want %d, %v", tt.d, n, w, tt.n, tt.window)
		}
	}
}
