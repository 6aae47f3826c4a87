package gateway

import (
	"regexp"
	"testing"
	"time"
)

// TestNewID: ids are OpenWhisk's 32 lowercase hex digits, laid out as
// version 7 UUIDs, unique, and ordered by their millisecond.
func TestNewID(t *testing.T) {
	format := regexp.MustCompile(`^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$`)
	seen := map[string]bool{}
	var prev string
	for i := range 2000 {
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond) // the next id is in a later millisecond
		}
		var b [32]byte
		newID(&b)
		id := string(b[:])
		if !format.MatchString(id) {
			t.Fatalf("id %q is not a version 7 UUID in 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q generated twice", id)
		}
		seen[id] = true
		if i%500 == 0 {
			if prev != "" && id[:12] <= prev[:12] {
				t.Errorf("id %q generated after %q sorts before it", id, prev)
			}
		}
		prev = id
	}
}
