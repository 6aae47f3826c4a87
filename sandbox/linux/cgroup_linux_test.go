package linux

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseCgroups(t *testing.T) {
	const (
		hybrid = `35 25 0:30 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
36 35 0:31 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
37 35 0:32 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
39 35 0:34 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 35 0:36 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
43 35 0:38 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
45 35 0:40 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
		combined = `30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid shared:11 - cgroup cgroup rw,pids
33 25 0:29 / /sys/fs/cgroup/freezer rw,nosuid shared:12 - cgroup cgroup rw,freezer
`
		pureV2 = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
		// A systemd hybrid host whose unified mount holds the controllers
		// (no v1 memory hierarchy): v2.
		hybridV2 = "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n" +
			"41 31 0:38 / /run/cgroup2 rw,relatime - cgroup2 cgroup2 rw\n"
		v2NoPids    = "29 23 0:26 / /sys/cgroup-nopids rw - cgroup2 cgroup2 rw\n"
		v2Unread    = "29 23 0:26 / /sys/cgroup-unreadable rw - cgroup2 cgroup2 rw\n"
		noFreezer   = "39 35 0:34 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n36 35 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n43 35 0:38 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
		nothing     = "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n"
		controllers = "cpuset cpu io memory hugetlb pids rdma misc"
	)
	ctrl := map[string]string{
		"/sys/fs/cgroup/unified": "hugetlb",
		"/sys/fs/cgroup":         controllers,
		"/run/cgroup2":           controllers,
		"/sys/cgroup-nopids":     "cpuset cpu io memory hugetlb",
	}
	read := func(mnt string) ([]byte, error) {
		if c, ok := ctrl[mnt]; ok {
			return []byte(c + "\n"), nil
		}
		return nil, os.ErrNotExist
	}
	tests := []struct {
		name    string
		info    string
		wantV2  string
		wantV1  map[string]string
		wantErr bool
	}{
		{"hybrid with a hugetlb-only v2", hybrid, "", map[string]string{
			"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu",
			"pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer",
		}, false},
		{"v1 with cpu,cpuacct", combined, "", map[string]string{
			"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
			"pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer",
		}, false},
		// A typical systemd host: pure v2, every controller enabled.
		{"pure v2", pureV2, "/sys/fs/cgroup", nil, false},
		{"hybrid with the controllers on v2", hybridV2, "/run/cgroup2", nil, false},
		{"v2 without pids", v2NoPids, "", nil, true},
		{"v2 whose controllers cannot be read", v2Unread, "", nil, true},
		{"v1 without freezer", noFreezer, "", nil, true},
		{"no cgroups", nothing, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseCgroups(strings.NewReader(tc.info), read, "gust")
			if tc.wantErr {
				if !errors.Is(err, ErrNoCgroups) {
					t.Fatalf("parseCgroups: %v, want ErrNoCgroups", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.v2 != tc.wantV2 {
				t.Errorf("v2 = %q, want %q", h.v2, tc.wantV2)
			}
			if !maps.Equal(h.v1, tc.wantV1) {
				t.Errorf("v1 = %v, want %v", h.v1, tc.wantV1)
			}
			// v2 enables and limits memory, cpu and pids, nothing less.
			wantCtls := v2Controllers
			if tc.wantV2 == "" {
				wantCtls = nil
			}
			if !slices.Equal(h.ctls, wantCtls) {
				t.Errorf("ctls = %v, want %v", h.ctls, wantCtls)
			}
			if h.parent != "gust" {
				t.Errorf("parent = %q, want gust", h.parent)
			}
		})
	}
}

func TestSeccompProgram(t *testing.T) {
	prog, err := seccompProgram()
	if err != nil {
		t.Skipf("no filter here: %v", err)
	}
	if len(prog) > 255 || len(prog) < len(deniedSyscalls)+8 {
		t.Errorf("the filter has %d instructions for %d denied syscalls", len(prog), len(deniedSyscalls))
	}
	for i, ins := range prog {
		if end := i + 1 + int(ins.Jt); ins.Jt != 0 && end >= len(prog) {
			t.Errorf("instruction %d jumps past the end", i)
		}
		if end := i + 1 + int(ins.Jf); ins.Jf != 0 && end >= len(prog) {
			t.Errorf("instruction %d jumps past the end", i)
		}
	}
}

// TestCgroupV1Lifecycle runs the v1 path on a v1 host: the sandbox's
// cgroup in each hierarchy, attach, the freezer and each way of killing.
func TestCgroupV1Lifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making cgroups needs root")
	}
	top := fmt.Sprintf("gust-cgv1-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	h, err := detectCgroups(top + "/sandboxes")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	if h.version() != 1 {
		t.Skip("a cgroup v2 host (TestCgroupV2Lifecycle runs that path)")
	}
	t.Cleanup(func() {
		for _, c := range v1Controllers {
			if err := removeCgroupTree(filepath.Join(h.v1[c], top)); err != nil {
				t.Errorf("cleaning up: %v", err)
			}
		}
	})
	if err := h.prepare(); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	for i, end := range cgroupEnds {
		if end.v2Only {
			continue
		}
		t.Run(end.name, func(t *testing.T) {
			cg, err := h.create(fmt.Sprintf("sb-%d", i), 128, 64)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if len(cg.dirs) != len(v1Controllers) {
				t.Fatalf("create made %v, want one cgroup per hierarchy", cg.dirs)
			}
			for _, l := range []struct{ dir, file, want string }{
				{cg.mem, "memory.limit_in_bytes", strconv.Itoa(128 << 20)},
				{filepath.Join(h.v1["cpu"], cg.rel), "cpu.shares", strconv.Itoa(cpuShares(128))},
				{cg.pids, "pids.max", "64"},
			} {
				if b, err := os.ReadFile(filepath.Join(l.dir, l.file)); err != nil || strings.TrimSpace(string(b)) != l.want {
					t.Errorf("%s = %q (%v), want %s", l.file, b, err, l.want)
				}
			}
			exerciseCgroup(t, cg, "pids", path.Join("/", mountRoot(t, h.v1["pids"]), cg.rel), end.end)
		})
	}
	h.cleanup()
	for _, c := range v1Controllers {
		if _, err := os.Stat(filepath.Join(h.v1[c], top)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after cleanup, %s: %v", filepath.Join(h.v1[c], top), err)
		}
	}
}
