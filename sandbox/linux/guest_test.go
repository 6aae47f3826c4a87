//go:build linux

package linux_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// guestEnv is set in the guest of TestPureCgroupV2Host, where this test
// binary runs again.
const guestEnv = "GUST_TEST_GUEST"

// guestTests are the tests run again in the guest: those that create
// cgroups, set limits or hit them.
const guestTests = `^(TestCgroupV2Lifecycle|TestCgroupV2Leftover|TestCgroupV2Parent|TestConformance|` +
	`TestSandboxPidsLimit|TestSandboxMemoryLimit|TestSandboxDiesWithDriver|TestSandboxSeesOnlyItself|TestShells)$`

// guestMustPass are results the guest must print: they show that the v2
// limits were set and enforced, not skipped.
var guestMustPass = []string{
	"--- PASS: TestCgroupV2Lifecycle/memory_cpu_pids",
	"--- PASS: TestSandboxMemoryLimit",
	"--- PASS: TestSandboxPidsLimit",
	"--- PASS: TestSandboxDiesWithDriver",
	"--- PASS: TestConformance",
	"--- PASS: TestShells", // a shell's limits changed on v2
}

// TestPureCgroupV2Host runs this package's cgroup and limit tests again on
// a host whose only cgroup hierarchy is cgroup2 with memory, cpu and pids
// enabled: the layout of most users' machines, which the build machines
// (cgroup v1 with a hugetlb-only cgroup2 mount) do not have. The host is a
// QEMU guest running this machine's Debian kernel under software emulation,
// from an initramfs holding busybox and this test binary with its shared
// libraries.
func TestPureCgroupV2Host(t *testing.T) {
	if os.Getenv(guestEnv) != "" {
		t.Skip("this is the guest")
	}
	if testing.Short() {
		t.Skip("boots a VM under software emulation (about a minute)")
	}
	if runtime.GOARCH != "amd64" {
		t.Skipf("the guest is x86-64; this is %s", runtime.GOARCH)
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("needs qemu-system-x86_64 (Debian: qemu-system-x86)")
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(kernels) == 0 {
		t.Skip("needs a kernel image in /boot (Debian: linux-image-amd64)")
	}
	slices.Sort(kernels)
	busybox, err := staticBusybox()
	if err != nil {
		t.Skip(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(t.TempDir(), "initrd.gz")
	if err := writeGuestInitramfs(initrd, self, busybox); err != nil {
		t.Fatalf("initramfs: %v", err)
	}

	var exit, log string
	for attempt := 1; ; attempt++ {
		var booted bool
		exit, log, booted = bootGuest(t, qemu, kernels[len(kernels)-1], initrd)
		if booted || attempt == 2 {
			break
		}
		t.Logf("the guest did not reach its init in %v: booting again", guestBootLimit)
	}
	if exit != "0" {
		t.Fatalf("the guest's tests ended with %q", exit)
	}
	for _, want := range guestMustPass {
		if !strings.Contains(log, want) {
			t.Errorf("the guest did not print %q", want)
		}
	}
	if skips := regexp.MustCompile(`--- SKIP: \S+`).FindAllString(log, -1); len(skips) > 0 {
		t.Errorf("skipped in the guest: %v", skips)
	}
}

// Time limits of one guest: to reach its init, and in all. Unloaded, it
// reaches its init in about 3 s and is done in about 12 s; with both host
// cores busy, in about 24 s.
const (
	guestBootLimit = 2 * time.Minute
	guestRunLimit  = 8 * time.Minute
)

// bootGuest runs the guest once and returns the test binary's exit status
// as the guest printed it ("" when it printed none), the serial console,
// and whether the guest reached its init. A guest that does not reach its
// init in guestBootLimit is killed.
//
// The machine is QEMU's pc, not the lighter microvm: microvm has no HPET or
// ACPI PM timer, and with the host's cores busy its kernel could not
// calibrate the TSC against the PIT ("tsc: No reference (HPET/PMTIMER)
// available") and hung before its init, in 3 of 6 boots; pc booted 14 of 14
// under the same load.
func bootGuest(t *testing.T, qemu, kernel, initrd string) (exit, console string, booted bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), guestRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-M", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "1536",
		"-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 loglevel=4 panic=-1 rdinit=/init")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{})
	go func() {
		select {
		case <-up:
		case <-time.After(guestBootLimit):
			cmd.Process.Kill()
		case <-ctx.Done():
		}
	}()
	var serial bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(out, &serial))
	for sc.Scan() {
		switch line := strings.TrimSpace(sc.Text()); {
		case strings.HasSuffix(line, "GUEST-UP") && !booted: // after the firmware's escape codes
			booted = true
			close(up)
		case strings.HasPrefix(line, "GUEST-EXIT "):
			exit = strings.TrimPrefix(line, "GUEST-EXIT ")
		}
	}
	if !booted {
		close(up)
	}
	werr := cmd.Wait()
	t.Logf("the guest ran for %v (qemu: %v); serial console:\n%s", time.Since(start).Round(time.Second), werr, serial.String())
	return exit, serial.String(), booted
}

// staticBusybox returns a statically linked busybox: the guest has no
// shared libraries but the test binary's.
func staticBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
		f.Close()
		if !dynamic {
			return p, nil
		}
	}
	return "", fmt.Errorf("needs a statically linked busybox (Debian: busybox-static)")
}

// guestInit is the guest's /init. From the initramfs it copies itself into a
// tmpfs and switches root there, since pivot_root (which every sandbox
// does) refuses a process whose root is the initramfs. Then it mounts
// cgroup2 alone at /sys/fs/cgroup, enables memory, cpu and pids, runs the
// tests and powers off.
const guestInit = `#!/bin/busybox sh
if [ "$1" != stage2 ]; then
	/bin/busybox mkdir -p /newroot
	/bin/busybox mount -t tmpfs -o size=1g,mode=755 root /newroot
	for d in /*; do [ "$d" = /newroot ] || /bin/busybox cp -a "$d" /newroot/; done
	exec /bin/busybox switch_root /newroot /init stage2
fi
echo; echo GUEST-UP
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin HOME=/tmp
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+memory +cpu +pids" > /sys/fs/cgroup/cgroup.subtree_control
echo "cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
` + guestEnv + `=1 /test -test.run '` + guestTests + `' -test.v -test.timeout 15m
echo "GUEST-EXIT $?"
poweroff -f
`

// writeGuestInitramfs writes a gzipped newc cpio archive with /init, busybox,
// the test binary at /test and the shared libraries it needs.
func writeGuestInitramfs(dst, test, busybox string) error {
	libs, err := sharedLibs(test)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	a := &cpioWriter{w: zw, dirs: map[string]bool{"/": true}}
	a.file("/init", 0o755, []byte(guestInit))
	a.dir("/dev/console")
	a.node("/dev/console", 0o020600, nil, 5, 1) // the kernel gives it to /init as stdio
	for name, src := range map[string]string{"/bin/busybox": busybox, "/test": test} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		a.file(name, 0o755, b)
	}
	a.symlink("/bin/sh", "busybox")
	for _, lib := range libs {
		b, err := os.ReadFile(lib)
		if err != nil {
			return err
		}
		a.file(lib, 0o755, b)
	}
	a.trailer()
	if a.err != nil {
		return a.err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// sharedLibs lists the files ldd says bin loads, the dynamic loader
// included; none for a static binary.
func sharedLibs(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, out)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, field := range strings.Fields(line) {
			if strings.HasPrefix(field, "/") {
				libs = append(libs, field)
			}
		}
	}
	return libs, nil
}

// cpioWriter writes the newc format the kernel unpacks an initramfs from.
type cpioWriter struct {
	w    io.Writer
	ino  int
	dirs map[string]bool
	err  error
}

func (a *cpioWriter) entry(name string, mode int, data []byte) { a.node(name, mode, data, 0, 0) }

// node writes one entry; major and minor are a device's numbers.
func (a *cpioWriter) node(name string, mode int, data []byte, major, minor int) {
	if a.err != nil {
		return
	}
	a.ino++
	name = strings.TrimPrefix(name, "/")
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		a.ino, mode, 0, 0, 1, 0, len(data), 0, 0, major, minor, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	buf = pad4(append(buf, data...))
	_, a.err = a.w.Write(buf)
}

// pad4 pads b with NULs to a multiple of 4 bytes.
func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// dir writes the directories above name that are not written yet.
func (a *cpioWriter) dir(name string) {
	d := path.Dir(name)
	if a.dirs[d] {
		return
	}
	a.dir(d)
	a.dirs[d] = true
	a.entry(d, 0o040755, nil)
}

func (a *cpioWriter) file(name string, perm int, data []byte) {
	a.dir(name)
	a.entry(name, 0o100000|perm, data)
}

func (a *cpioWriter) symlink(name, target string) {
	a.dir(name)
	a.entry(name, 0o120777, []byte(target))
}

func (a *cpioWriter) trailer() { a.entry("TRAILER!!!", 0, nil) }
