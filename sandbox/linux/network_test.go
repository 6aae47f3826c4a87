package linux_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
)

// outside builds a stand-in for the internet: a network namespace linked
// to this one with 198.51.100.254 (here) and 198.51.100.1 (there), where a TCP
// server answers every connection with the address it came from. There
// is no route back to the sandboxes' range: only NAT makes answers arrive.
func outside(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the ip command (iproute2) is needed to build the test network")
	}
	ns := fmt.Sprintf("gust-out-%d", os.Getpid())
	link := fmt.Sprintf("gto%d", os.Getpid()%100000)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", link).Run()
		exec.Command("ip", "netns", "del", ns).Run()
	})
	ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
	ip("addr", "add", "198.51.100.254/24", "dev", link)
	ip("link", "set", link, "up")
	ip("-n", ns, "addr", "add", "198.51.100.1/24", "dev", "eth0")
	ip("-n", ns, "link", "set", "eth0", "up")

	// Listen from inside the namespace: the socket stays there.
	ln, err := listenIn("/run/netns/"+ns, "198.51.100.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			c.Write([]byte("from " + host))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func listenIn(nsPath, addr string) (net.Listener, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(self)
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return nil, err
	}
	ln, lerr := net.Listen("tcp", addr)
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		panic("cannot return to this test's network namespace: " + err.Error())
	}
	return ln, lerr
}

func TestSandboxNetwork(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("sandbox egress needs the nft command (Debian package nftables)")
	}
	d := hostileDriver(t)
	server := outside(t)

	// A service on this host, on every address: the sandbox must not
	// reach it, neither through its gateway nor through loopback.
	hostLn, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostLn.Close()
	go func() {
		for {
			c, err := hostLn.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("host secret"))
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(hostLn.Addr().String())

	sb, c := hostileSpec(t, d, sandbox.Spec{ID: "net-on", Kind: "blackbox", MemoryMB: 128, Network: true})

	var got string
	probe(t, c, "fetch?addr="+server, &got)
	if got != "read:from 198.51.100.254" {
		t.Errorf("fetching from the outside server: %q, want it to see the host's address 198.51.100.254 (NAT)", got)
	}
	probe(t, c, "fetch?addr=10.200.0.1:"+port, &got)
	if got == "read:host secret" {
		t.Error("the sandbox reached a host service through its gateway")
	}
	probe(t, c, "fetch?addr=127.0.0.1:"+port, &got)
	if got != "ECONNREFUSED" {
		t.Errorf("fetching from 127.0.0.1:%s: %q, want ECONNREFUSED (the sandbox's own loopback)", port, got)
	}

	// A sandbox without Network, on the same driver, still has none.
	_, c2 := hostile(t, d, "net-off", 128)
	probe(t, c2, "fetch?addr="+server, &got)
	if got != "ENETUNREACH" {
		t.Errorf("a sandbox without Network fetching from %s: %q, want ENETUNREACH", server, got)
	}

	veth := linux.HostVeth(sb)
	if veth == "" {
		t.Fatal("a sandbox with Spec.Network has no veth pair")
	}
	if err := sb.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(veth); err == nil {
		t.Errorf("the host side of its veth pair, %s, survived Destroy", veth)
	}
}

// TestNetShells: networked shells start filling at the first networked
// Create, and the next networked sandbox is made from one: a shell's
// network reaches the outside as a network built for the spec does, and
// its veth goes with it.
func TestNetShells(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("sandbox egress needs the nft command (Debian package nftables)")
	}
	d, run := newDriver(t, linux.Config{ProxyEntry: hostileEntry, TmpMB: 8, PidsMax: 64})
	server := outside(t)
	if n := linux.ReadyNetShells(d); n != 0 {
		t.Fatalf("%d networked shells before any networked sandbox, want none", n)
	}
	hostileSpec(t, d, sandbox.Spec{ID: "net-built", Kind: "blackbox", MemoryMB: 128, Network: true})
	if fi, err := os.Lstat(filepath.Join(run, "net-built")); err != nil || !fi.IsDir() {
		t.Fatalf("the first networked sandbox was not built for its spec: %v, %v", fi, err)
	}
	for deadline := time.Now().Add(20 * time.Second); linux.ReadyNetShells(d) != 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d networked shells ready after 20s, want 2", linux.ReadyNetShells(d))
		}
	}
	sb, c := hostileSpec(t, d, sandbox.Spec{ID: "net-shelled", Kind: "blackbox", MemoryMB: 128, Network: true})
	if dir, err := os.Readlink(filepath.Join(run, "net-shelled")); err != nil || !strings.HasPrefix(dir, "netshell-") {
		t.Fatalf("net-shelled links to %q (%v), want a networked shell's directory", dir, err)
	}
	var got string
	probe(t, c, "fetch?addr="+server, &got)
	if got != "read:from 198.51.100.254" {
		t.Errorf("fetching from the outside server: %q, want it to see the host's address 198.51.100.254 (NAT)", got)
	}
	veth := linux.HostVeth(sb)
	if err := sb.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(veth); veth == "" || err == nil {
		t.Errorf("the shell's veth %q: %v after Destroy, want it gone", veth, err)
	}
}
