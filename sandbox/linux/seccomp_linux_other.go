//go:build linux && !amd64 && !arm64

package linux

// No seccomp filter is written for this architecture: Available reports it.
const (
	auditArch = 0
	x32Bit    = 0
)

var deniedSyscalls []int
