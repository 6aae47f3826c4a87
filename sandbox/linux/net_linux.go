package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/sandbox"
)

// Sandboxes with Spec.Network get a veth pair: eth0 inside, gv<tag>-<n>
// on the host, a /30 of Config.NetworkCIDR between them, a default route
// through the host, and the host masquerades their traffic to the world
// (nftables, through the nft command). The same nftables table keeps them
// off the host itself and off each other, and off 127/8 and 169.254/16.

const vethInfoPeer = 1 // VETH_INFO_PEER, missing from x/sys/unix

// netPool hands out the /30 subnets of a CIDR.
type netPool struct {
	prefix netip.Prefix
	tag    string // distinguishes this driver's host interfaces

	mu    sync.Mutex
	inUse []bool

	egressOnce sync.Once
	egressErr  error
	table      string // the nftables table installed, if any
}

func newNetPool(cidr string) (*netPool, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 28 || p.Bits() < 8 {
		return nil, fmt.Errorf("%w: NetworkCIDR %q must be an IPv4 prefix from /8 to /28", ErrBadSpec, cidr)
	}
	p = p.Masked()
	h := fnv.New32a()
	h.Write([]byte(p.String()))
	return &netPool{prefix: p, tag: fmt.Sprintf("%04x", h.Sum32()&0xffff), inUse: make([]bool, 1<<(32-p.Bits()-2))}, nil
}

// close removes the nftables table egress installed. IPv4 forwarding,
// which other software may rely on by now, stays on.
func (p *netPool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.table == "" {
		return nil
	}
	out, err := exec.Command("nft", "delete", "table", "ip", p.table).CombinedOutput()
	if err != nil {
		return fmt.Errorf("removing the nftables table %s: %w: %s", p.table, err, strings.TrimSpace(string(out)))
	}
	p.table = ""
	return nil
}

// sandboxNet is one sandbox's link.
type sandboxNet struct {
	index   int
	host    string     // host-side interface name
	gateway netip.Addr // host side of the /30
	addr    netip.Addr // sandbox side
}

func (p *netPool) alloc() (*sandboxNet, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, used := range p.inUse {
		if used {
			continue
		}
		p.inUse[i] = true
		base := binary.BigEndian.Uint32(p.prefix.Addr().AsSlice()) + uint32(i)*4
		var gw, sb [4]byte
		binary.BigEndian.PutUint32(gw[:], base+1)
		binary.BigEndian.PutUint32(sb[:], base+2)
		return &sandboxNet{
			index:   i,
			host:    fmt.Sprintf("gv%s-%d", p.tag, i),
			gateway: netip.AddrFrom4(gw),
			addr:    netip.AddrFrom4(sb),
		}, nil
	}
	return nil, fmt.Errorf("no free address left in %s", p.prefix)
}

func (p *netPool) free(n *sandboxNet) {
	p.mu.Lock()
	p.inUse[n.index] = false
	p.mu.Unlock()
}

// egress turns on IPv4 forwarding and installs the NAT and isolation rules,
// once per driver.
func (p *netPool) egress() error {
	p.egressOnce.Do(func() { p.egressErr = p.setupEgress() })
	return p.egressErr
}

func (p *netPool) setupEgress() error {
	nft, err := exec.LookPath("nft")
	if err != nil {
		return fmt.Errorf("%w: sandbox egress needs the nft command (Debian package nftables) for NAT and isolation", sandbox.ErrUnsupported)
	}
	cidr := p.prefix.String()
	table := "gust_" + p.tag
	rules := fmt.Sprintf(`table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr %[2]s ip daddr != %[2]s masquerade
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr %[2]s drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr %[2]s ip daddr { %[2]s, 127.0.0.0/8, 169.254.0.0/16 } drop
	}
}
`, table, cidr)
	cmd := exec.Command(nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("installing the nftables table %s: %w: %s", table, err, strings.TrimSpace(string(out)))
	}
	p.mu.Lock()
	p.table = table
	p.mu.Unlock()
	const forward = "/proc/sys/net/ipv4/ip_forward"
	if b, err := os.ReadFile(forward); err != nil || strings.TrimSpace(string(b)) != "1" {
		if err := os.WriteFile(forward, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enabling IPv4 forwarding: %w", err)
		}
	}
	return nil
}

// hostSide creates the veth pair, moves its peer into the netns of pid as
// eth0, and addresses and raises the host side.
func (n *sandboxNet) hostSide(pid int) error {
	nl, err := dialNetlink()
	if err != nil {
		return err
	}
	defer nl.close()
	err = nl.createVeth(n.host, "eth0", pid)
	if errors.Is(err, unix.EEXIST) { // left over by a crashed driver
		nl.deleteLink(n.host)
		err = nl.createVeth(n.host, "eth0", pid)
	}
	if err != nil {
		return fmt.Errorf("creating veth %s: %w", n.host, err)
	}
	idx, err := ifIndex(n.host)
	if err != nil {
		return err
	}
	if err := nl.addAddr(idx, n.gateway, 30); err != nil {
		return fmt.Errorf("addressing %s: %w", n.host, err)
	}
	if err := nl.linkUp(idx); err != nil {
		return fmt.Errorf("raising %s: %w", n.host, err)
	}
	return nil
}

// remove deletes the host side; the pair usually went with the netns.
func (n *sandboxNet) remove() {
	nl, err := dialNetlink()
	if err != nil {
		return
	}
	defer nl.close()
	nl.deleteLink(n.host)
}

// sandboxSide configures eth0 in the calling process's netns: the init
// runs it.
func sandboxSide(addr, gateway string) error {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return err
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil {
		return err
	}
	nl, err := dialNetlink()
	if err != nil {
		return err
	}
	defer nl.close()
	idx, err := ifIndex("eth0")
	if err != nil {
		return err
	}
	if err := nl.addAddr(idx, a, 30); err != nil {
		return fmt.Errorf("addressing eth0: %w", err)
	}
	if err := nl.linkUp(idx); err != nil {
		return fmt.Errorf("raising eth0: %w", err)
	}
	if err := nl.defaultRoute(idx, gw); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}

func ifIndex(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

// netlinkConn is a NETLINK_ROUTE socket for one request at a time.
type netlinkConn struct {
	fd  int
	seq uint32
}

func dialNetlink() (*netlinkConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &netlinkConn{fd: fd}, nil
}

func (c *netlinkConn) close() { unix.Close(c.fd) }

// nlMsg builds one netlink request.
type nlMsg struct{ b []byte }

func newMsg(typ, flags uint16, header []byte) *nlMsg {
	m := &nlMsg{b: make([]byte, unix.SizeofNlMsghdr, 256)}
	binary.NativeEndian.PutUint16(m.b[4:], typ)
	binary.NativeEndian.PutUint16(m.b[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	m.b = append(m.b, header...)
	m.align()
	return m
}

func (m *nlMsg) align() {
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *nlMsg) attr(typ uint16, data []byte) {
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(4+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.b = append(m.b, data...)
	m.align()
}

func (m *nlMsg) str(typ uint16, s string) { m.attr(typ, append([]byte(s), 0)) }

func (m *nlMsg) u32(typ uint16, v uint32) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	m.attr(typ, b[:])
}

// nest opens a nested attribute; end closes it.
func (m *nlMsg) nest(typ uint16) int {
	at := len(m.b)
	m.attr(typ|unix.NLA_F_NESTED, nil)
	return at
}

func (m *nlMsg) end(at int) {
	binary.NativeEndian.PutUint16(m.b[at:], uint16(len(m.b)-at))
}

func ifInfo(index int32, flags, change uint32) []byte {
	ifi := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: index, Flags: flags, Change: change}
	return append([]byte(nil), (*[unix.SizeofIfInfomsg]byte)(unsafe.Pointer(&ifi))[:]...)
}

// do sends m and waits for the kernel's acknowledgement.
func (c *netlinkConn) do(m *nlMsg) error {
	c.seq++
	binary.NativeEndian.PutUint32(m.b[0:], uint32(len(m.b)))
	binary.NativeEndian.PutUint32(m.b[8:], c.seq)
	if err := unix.Sendto(c.fd, m.b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, msg := range msgs {
			if msg.Header.Seq != c.seq || msg.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(msg.Data) < 4 {
				return errors.New("netlink: short error message")
			}
			if code := int32(binary.NativeEndian.Uint32(msg.Data)); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
}

func (c *netlinkConn) createVeth(name, peer string, pid int) error {
	m := newMsg(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifInfo(0, 0, 0))
	m.str(unix.IFLA_IFNAME, name)
	info := m.nest(unix.IFLA_LINKINFO)
	m.str(unix.IFLA_INFO_KIND, "veth")
	data := m.nest(unix.IFLA_INFO_DATA)
	p := m.nest(vethInfoPeer)
	m.b = append(m.b, ifInfo(0, 0, 0)...)
	m.str(unix.IFLA_IFNAME, peer)
	m.u32(unix.IFLA_NET_NS_PID, uint32(pid))
	m.end(p)
	m.end(data)
	m.end(info)
	return c.do(m)
}

func (c *netlinkConn) deleteLink(name string) error {
	m := newMsg(unix.RTM_DELLINK, 0, ifInfo(0, 0, 0))
	m.str(unix.IFLA_IFNAME, name)
	return c.do(m)
}

func (c *netlinkConn) linkUp(index int) error {
	return c.do(newMsg(unix.RTM_NEWLINK, 0, ifInfo(int32(index), unix.IFF_UP, unix.IFF_UP)))
}

func (c *netlinkConn) addAddr(index int, addr netip.Addr, bits int) error {
	ifa := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(bits), Index: uint32(index)}
	m := newMsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, (*[unix.SizeofIfAddrmsg]byte)(unsafe.Pointer(&ifa))[:])
	a := addr.As4()
	m.attr(unix.IFA_LOCAL, a[:])
	m.attr(unix.IFA_ADDRESS, a[:])
	return c.do(m)
}

func (c *netlinkConn) defaultRoute(index int, gateway netip.Addr) error {
	rt := unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_BOOT,
		Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST}
	m := newMsg(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, (*[unix.SizeofRtMsg]byte)(unsafe.Pointer(&rt))[:])
	gw := gateway.As4()
	m.attr(unix.RTA_GATEWAY, gw[:])
	m.u32(unix.RTA_OIF, uint32(index))
	return c.do(m)
}
