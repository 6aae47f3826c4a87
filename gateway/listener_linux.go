package gateway

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// pending tells whether bytes wait to be read on c (a request that came as
// the gateway stopped is served).
func pending(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}
