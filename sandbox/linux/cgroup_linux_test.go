package linux

import (
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
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
		pureV2      = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
		noFreezer   = "39 35 0:34 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n36 35 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n43 35 0:38 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
		nothing     = "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n"
		controllers = "cpuset cpu io memory hugetlb pids rdma misc"
	)
	ctrl := map[string]string{
		"/sys/fs/cgroup/unified": "hugetlb",
		"/sys/fs/cgroup":         controllers,
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
		{"pure v2", pureV2, "/sys/fs/cgroup", nil, false},
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
