package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{4 << 20, 64 << 20, 1500}, // goal 4 MB * 16 = 64 MB
		{32 << 20, 64 << 20, 100}, // GOGC=100 reaches the floor
		{100 << 20, 64 << 20, 100},
		{1 << 20, 64 << 20, 1600}, // not 6300: the goal of a tiny heap is 4 MB * GOGC/100
		{0, 64 << 20, 1600},
		{0, 2 << 20, 100},
	} {
		if got := Percent(c.live, c.floor); got != c.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", c.live, c.floor, got, c.want)
		}
	}
}

// TestStartKeepsGoal: with a small live heap the goal stays at the floor
// across collections, and a live heap past half the floor gets GOGC=100.
func TestStartKeepsGoal(t *testing.T) {
	t.Setenv("GOGC", "") // restored at the end; Start must see it unset
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 256 << 20
	defer Start(floor)()
	for i := 0; i < 3; i++ {
		runtime.GC()
		waitFinalizers()
		if g := goal(); g < floor*9/10 {
			t.Fatalf("after collection %d the heap goal is %d MB, want about %d MB", i+1, g>>20, floor>>20)
		}
	}
	keep := make([]byte, floor/2+(16<<20)) // live heap past half the floor
	runtime.GC()
	waitFinalizers()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("with %d MB live GOGC is %d, want 100", len(keep)>>20, p)
	}
	runtime.KeepAlive(keep)
}

func TestStartRespectsGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer Start(256 << 20)()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("GOGC=100 set in the environment, but Start set %d", p)
	}
}

func goal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitFinalizers gives the finalizer goroutine time to run after a collection.
func waitFinalizers() {
	done := make(chan struct{})
	s := new(sentinel)
	runtime.SetFinalizer(s, func(*sentinel) { close(done) })
	s = nil
	runtime.GC()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
