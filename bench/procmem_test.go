package bench

import (
	"slices"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in   string
		want procInfo
		ok   bool
	}{
		{"123 (node) S 45 123 123 0 -1", procInfo{ppid: 45, state: 'S'}, true},
		{"7 (a b) (c)) T 1 7 7", procInfo{ppid: 1, state: 'T'}, true}, // comm with spaces and parentheses
		{"7 (x) R", procInfo{}, false},
		{"garbage", procInfo{}, false},
		{"7 (x) R notanumber", procInfo{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseKB(t *testing.T) {
	rollup := "55d0c0a00000-7ffd9b5fe000 ---p 00000000 00:00 0 [rollup]\nRss:               12345 kB\nPss:                8192 kB\nPss_Anon:           1024 kB\n"
	if kb, ok := parseKB([]byte(rollup), "Pss"); !ok || kb != 8192 {
		t.Errorf("Pss = %d, %v; want 8192", kb, ok)
	}
	if _, ok := parseKB([]byte(rollup), "Swap"); ok {
		t.Error("found a missing key")
	}
	if kb, ok := parseKB([]byte("MemTotal: 100 kB\nMemAvailable:   2048 kB\n"), "MemAvailable"); !ok || kb != 2048 {
		t.Errorf("MemAvailable = %d, %v", kb, ok)
	}
}

func TestSubtrees(t *testing.T) {
	procs := map[int]procInfo{
		1:  {ppid: 0},
		10: {ppid: 1},  // gust
		11: {ppid: 10}, // sandbox init
		12: {ppid: 11}, // its proxy
		13: {ppid: 12}, // its interpreter
		20: {ppid: 10}, // another sandbox
		30: {ppid: 1},  // not gust's
		31: {ppid: 30},
		40: {ppid: 10}, // the linux driver's spawner
		41: {ppid: 40}, // a sandbox init it forked
		42: {ppid: 41},
		43: {ppid: 40}, // another
	}
	got := subtrees(procs, 10, func(pid int) bool { return pid == 40 })
	want := map[int][]int{11: {11, 12, 13}, 20: {20}, 41: {41, 42}, 43: {43}}
	if len(got) != len(want) {
		t.Fatalf("subtrees = %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("subtree %d = %v, want %v", k, got[k], v)
		}
	}
}

func TestSummarizeMem(t *testing.T) {
	m := summarizeMem([]sandboxMem{{pid: 1, procs: 3, pssKB: 9000, paused: true}, {pid: 2, procs: 3, pssKB: 8000, paused: true}, {pid: 3, procs: 2, pssKB: 7000}})
	want := MemoryUse{Sandboxes: 3, Paused: 2, Procs: 8, PSSP50KB: 8000, PSSMeanKB: 8000, PSSMaxKB: 9000, PSSTotalKB: 24000}
	if *m != want {
		t.Errorf("summarizeMem = %+v, want %+v", *m, want)
	}
	if m := summarizeMem(nil); m.Sandboxes != 0 || m.PSSP50KB != 0 {
		t.Errorf("summarizeMem(nil) = %+v", m)
	}
}

func TestFmtKB(t *testing.T) {
	for kb, want := range map[int64]string{512: "512 KiB", 8192: "8192 KiB", 20480: "20.0 MiB", 3 << 20: "3072.0 MiB", 12 << 20: "12.0 GiB", -20480: "-20.0 MiB"} {
		if got := fmtKB(kb); got != want {
			t.Errorf("fmtKB(%d) = %q, want %q", kb, got, want)
		}
	}
}

// TestPreexisting: a sandbox there before the density scenario's actions
// is left out, unless it has a process it did not have (a shell, an init
// and a proxy, that became one of the actions' sandboxes, whose proxy may
// have left its launcher to the init since) or was paused since.
func TestPreexisting(t *testing.T) {
	known := map[int]sandboxMem{
		10: {pid: 10, members: []int{10, 11, 12}}, // a stem cell
		20: {pid: 20, members: []int{20, 21}},     // a shell
	}
	for _, tc := range []struct {
		m    sandboxMem
		want bool
	}{
		{sandboxMem{pid: 10, members: []int{10, 11, 12}}, true},            // the stem cell, as it was
		{sandboxMem{pid: 10, members: []int{10, 12}, paused: true}, false}, // the stem cell, taken and paused
		{sandboxMem{pid: 20, members: []int{20, 21}}, true},                // the shell still waiting
		{sandboxMem{pid: 20, members: []int{20, 21, 22}}, false},           // the shell, running an action
		{sandboxMem{pid: 20, members: []int{20, 22}, paused: true}, false}, // the same, its proxy gone
		{sandboxMem{pid: 30, members: []int{30, 31}}, false},               // new
	} {
		if got := preexisting(known, tc.m); got != tc.want {
			t.Errorf("preexisting(%+v) = %v, want %v", tc.m, got, tc.want)
		}
	}
}
