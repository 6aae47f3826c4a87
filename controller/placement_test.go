package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

func TestParseWarmKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want warmKey
		ok   bool
	}{
		{"guest/hello@1", warmKey{"guest", "hello", "1"}, true},
		{"guest/pkg/hello@abc", warmKey{"guest/pkg", "hello", "abc"}, true},
		{"guest/us@er@r9", warmKey{"guest", "us@er", "r9"}, true},
		{"guest/hello@", warmKey{"guest", "hello", ""}, true},
		{"guest/hello", warmKey{}, false},
		{"hello@1", warmKey{}, false},
		{"/hello@1", warmKey{}, false},
		{"guest/@1", warmKey{}, false},
		{"", warmKey{}, false},
	} {
		got, ok := parseWarmKey(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseWarmKey(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	// It inverts bus.WarmKey.
	a := &whisk.Action{Namespace: "guest/pkg", Name: "n@me", Rev: "42"}
	if got, _ := parseWarmKey(bus.WarmKey(a)); got != newPlaceReq(a).key {
		t.Errorf("parseWarmKey(WarmKey(a)) = %+v, want %+v", got, newPlaceReq(a).key)
	}
}

func TestCoprimeStepsVisitEveryInvoker(t *testing.T) {
	for n := 1; n <= 24; n++ {
		for _, step := range coprimeSteps(n) {
			seen := make([]bool, n)
			for i, j := 0, 0; i < n; i, j = i+1, (j+step)%n {
				seen[j] = true
			}
			for j, ok := range seen {
				if !ok {
					t.Fatalf("n=%d step=%d never visits %d", n, step, j)
				}
			}
		}
	}
}

func TestMemoryCost(t *testing.T) {
	for _, tc := range []struct {
		memory, concurrency int
		want                int64
	}{
		{256, 1, 256},
		{256, 0, 256},
		{0, 1, whisk.DefaultMemory},
		{256, 3, 86},
		{256, 256, 1},
		{128, 500, 1},
	} {
		a := &whisk.Action{Limits: whisk.Limits{Memory: tc.memory, Concurrency: tc.concurrency}}
		if got := memoryCost(a); got != tc.want {
			t.Errorf("memoryCost(memory %d, concurrency %d) = %d, want %d", tc.memory, tc.concurrency, got, tc.want)
		}
	}
}

const (
	testNow       = int64(100 * time.Second)
	testDeadAfter = int64(3 * time.Second)
)

// fixture builds a registry of invokers a, b, c (2048 MB each, alive) and
// finds the home of action "probe" among them.
type fixture struct {
	r     *registry
	inv   map[string]*invoker
	req   placeReq
	home  string
	other []string // the rest, in probe order
}

func newFixture(t *testing.T, memory int) *fixture {
	t.Helper()
	f := &fixture{r: newRegistry(bus.Subjects{Prefix: "t."}), inv: map[string]*invoker{}}
	for _, id := range []string{"a", "b", "c"} {
		inv, _ := f.r.heartbeat(&bus.Heartbeat{ID: id, MemoryMB: 2048, FreeMB: 2048}, testNow, time.Now())
		f.inv[id] = inv
	}
	f.req = newPlaceReq(action("probe", memory))
	s := f.r.snap.Load()
	home := int(f.req.hash % 3)
	step := s.steps[int(f.req.hash%uint64(len(s.steps)))]
	f.home = s.invs[home].id
	for i := 1; i < 3; i++ {
		f.other = append(f.other, s.invs[(home+i*step)%3].id)
	}
	return f
}

func (f *fixture) beat(id string, memory, free int, warm ...string) {
	f.r.heartbeat(&bus.Heartbeat{ID: id, MemoryMB: memory, FreeMB: free, Warm: warm}, testNow, time.Now())
}

func (f *fixture) kill(id string) { f.inv[id].lastSeen.Store(testNow - testDeadAfter) }

func TestPick(t *testing.T) {
	warm := "guest/probe@1"
	for _, tc := range []struct {
		name     string
		overload float64
		memory   int // of the action; 256 when 0
		setup    func(f *fixture)
		want     func(f *fixture) string // invoker id
		kind     placeKind
		err      error
	}{
		{name: "home", want: func(f *fixture) string { return f.home }, kind: placedHome},
		{name: "home dead: next in probe order",
			setup: func(f *fixture) { f.kill(f.home) },
			want:  func(f *fixture) string { return f.other[0] }, kind: placedHome},
		{name: "home full: next in probe order",
			setup: func(f *fixture) { f.beat(f.home, 2048, 100) },
			want:  func(f *fixture) string { return f.other[0] }, kind: placedHome},
		{name: "advertised warm beats home",
			setup: func(f *fixture) { f.beat(f.other[1], 2048, 2048, warm) },
			want:  func(f *fixture) string { return f.other[1] }, kind: placedWarm},
		{name: "advertised warm but full: home",
			setup: func(f *fixture) { f.beat(f.other[1], 2048, 0, warm) },
			want:  func(f *fixture) string { return f.home }, kind: placedHome},
		{name: "advertised warm but dead: home",
			setup: func(f *fixture) { f.beat(f.other[1], 2048, 2048, warm); f.kill(f.other[1]) },
			want:  func(f *fixture) string { return f.home }, kind: placedHome},
		{name: "remembered beats advertised and home",
			setup: func(f *fixture) {
				f.beat(f.other[1], 2048, 2048, warm)
				f.r.aff.remember(nil, &f.req.key, f.inv[f.other[0]], testNow)
			},
			want: func(f *fixture) string { return f.other[0] }, kind: placedRemembered},
		{name: "remembered but dead: home",
			setup: func(f *fixture) {
				f.r.aff.remember(nil, &f.req.key, f.inv[f.other[0]], testNow)
				f.kill(f.other[0])
			},
			want: func(f *fixture) string { return f.home }, kind: placedHome},
		{name: "all full: least loaded",
			setup: func(f *fixture) {
				f.beat("a", 2048, 10)
				f.beat("b", 2048, 200)
				f.beat("c", 2048, 100)
			},
			want: func(f *fixture) string { return "b" }, kind: placedForced},
		{name: "all full, overload bounded", overload: 0.1,
			setup: func(f *fixture) {
				f.beat("a", 2048, 0)
				f.beat("b", 2048, 0)
				f.beat("c", 2048, 0)
			},
			err: ErrOverloaded},
		{name: "all full, within overload bound", overload: 0.2,
			setup: func(f *fixture) {
				f.beat("a", 2048, 0)
				f.beat("b", 2048, 0)
				f.beat("c", 2048, 100)
			},
			want: func(f *fixture) string { return "c" }, kind: placedForced},
		{name: "action larger than any invoker", memory: 4096, err: ErrOverloaded},
		{name: "all dead",
			setup: func(f *fixture) { f.kill("a"); f.kill("b"); f.kill("c") },
			err:   ErrNoInvokers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			memory := tc.memory
			if memory == 0 {
				memory = 256
			}
			f := newFixture(t, memory)
			if tc.setup != nil {
				tc.setup(f)
			}
			inv, kind, err := f.r.pick(&f.req, testNow, testDeadAfter, tc.overload)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || inv != nil {
					t.Fatalf("pick = %v, %v; want %v", inv, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("pick: %v", err)
			}
			if want := tc.want(f); inv.id != want || kind != tc.kind {
				t.Errorf("pick = %s (%v), want %s (%v); home %s, probe %v", inv.id, kind, want, tc.kind, f.home, f.other)
			}
			if got := inv.inflight.Load(); got != f.req.cost {
				t.Errorf("booked %d MB, want %d", got, f.req.cost)
			}
			if p := f.r.aff.get(&f.req.key); p == nil || p.inv.Load() != inv {
				t.Error("placement not remembered")
			}
		})
	}
}

func TestPickEmptyRegistry(t *testing.T) {
	r := newRegistry(bus.Subjects{Prefix: "t."})
	req := newPlaceReq(action("x", 256))
	if _, _, err := r.pick(&req, testNow, testDeadAfter, 0); !errors.Is(err, ErrNoInvokers) {
		t.Errorf("err = %v, want ErrNoInvokers", err)
	}
}

func TestCapacityAccounting(t *testing.T) {
	f := newFixture(t, 256)
	inv := f.inv["a"]
	// Eight 256 MB activations fill a 2048 MB invoker.
	for i := range 8 {
		if !inv.tryAcquire(256) {
			t.Fatalf("acquire %d refused", i)
		}
	}
	if inv.tryAcquire(1) {
		t.Fatal("acquire beyond the budget allowed")
	}
	// A heartbeat while 2048 MB are in flight and the invoker reports
	// 1024 MB free: this controller's count is fresher, others own nothing.
	f.beat("a", 2048, 1024)
	if got := inv.othersMB.Load(); got != 0 {
		t.Errorf("others = %d MB, want 0", got)
	}
	inv.release(8 * 256)
	// Others hold 1536 MB: only 512 MB remain for this controller.
	f.beat("a", 2048, 512)
	if got := inv.othersMB.Load(); got != 1536 {
		t.Errorf("others = %d MB, want 1536", got)
	}
	if !inv.tryAcquire(512) || inv.tryAcquire(1) {
		t.Error("want exactly 512 MB of room")
	}
	// Nonsense in a heartbeat is clamped.
	f.beat("a", -5, 99)
	if inv.memoryMB.Load() != 0 || inv.freeMB.Load() != 0 {
		t.Errorf("memory %d, free %d; want 0, 0", inv.memoryMB.Load(), inv.freeMB.Load())
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	f := newFixture(t, 256)
	for _, id := range []string{"a", "b", "c"} {
		f.beat(id, 1<<30, 1<<30)
	}
	f.beat(f.other[1], 1<<30, 1<<30, "guest/probe@1")
	dead := &invoker{id: "dead"} // never beat: not alive
	cold := newPlaceReq(action("cold", 256))
	for _, tc := range []struct {
		name     string
		req      *placeReq
		remember *invoker // reset before every pick
		kind     placeKind
	}{
		{"remembered", &f.req, f.inv[f.home], placedRemembered},
		{"advertised warm", &f.req, dead, placedWarm},
		{"home", &cold, dead, placedHome},
	} {
		f.r.aff.remember(nil, &tc.req.key, tc.remember, testNow) // the first placement allocates, once
		p := f.r.aff.get(&tc.req.key)
		var kind placeKind
		allocs := testing.AllocsPerRun(100, func() {
			p.inv.Store(tc.remember)
			var inv *invoker
			inv, kind, _ = f.r.pick(tc.req, testNow, testDeadAfter, 0)
			inv.release(tc.req.cost)
		})
		if kind != tc.kind {
			t.Errorf("%s: placed %v, want %v", tc.name, kind, tc.kind)
		}
		if allocs != 0 {
			t.Errorf("%s: pick allocates %v times", tc.name, allocs)
		}
	}
}

func TestForgetAndAffinitySweep(t *testing.T) {
	f := newFixture(t, 256)
	f.inv["a"].lastSeen.Store(testNow - int64(time.Hour))
	gone := f.r.forget(testNow - int64(10*time.Minute))
	if len(gone) != 1 || gone[0] != "a" {
		t.Fatalf("forget = %v, want [a]", gone)
	}
	if got := len(f.r.snap.Load().invs); got != 2 {
		t.Errorf("%d invokers left, want 2", got)
	}
	if f.inv["a"].alive(testNow, int64(time.Hour*2)) {
		t.Error("a forgotten invoker is alive")
	}
	// It comes back as a fresh entry when it beats again.
	f.beat("a", 2048, 2048)
	if got := len(f.r.snap.Load().invs); got != 3 {
		t.Errorf("%d invokers after a's return, want 3", got)
	}

	for i := range 3 {
		k := warmKey{"guest", fmt.Sprint(i), "1"}
		f.r.aff.remember(nil, &k, f.inv["b"], testNow+int64(i)*int64(time.Minute))
	}
	f.r.aff.sweep(testNow + int64(time.Minute))
	if got := len(f.r.aff.m); got != 2 {
		t.Errorf("%d placements after the sweep, want 2", got)
	}
}
