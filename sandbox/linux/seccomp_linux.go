package linux

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter is a denylist: the syscalls below fail with EPERM,
// clone fails with EPERM when it asks for a new namespace, clone3 fails with
// ENOSYS (its flags sit behind a pointer the filter cannot read, and libc
// falls back to clone), and every syscall of another architecture (i386
// through int 0x80, x32) fails with EPERM. io_uring is refused too (a large
// attack surface; libuv and others fall back). Everything else is allowed: the
// sandbox's user has no capabilities, so this is a second wall that shrinks
// the kernel surface, not the first one.

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // low 32 bits on little-endian machines
)

// cloneNamespaceFlags are the CLONE_NEW* flags clone may not use.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// seccompProgram builds the filter for this machine's architecture.
func seccompProgram() ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("%w: no seccomp filter for this architecture", ErrUnavailable)
	}
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	type jump struct {
		at     int    // index of the jump instruction
		target uint32 // which return it jumps to when true
	}
	var prog []unix.SockFilter
	var jumps []jump
	stmt := func(code uint16, k uint32) {
		prog = append(prog, unix.SockFilter{Code: code, K: k})
	}
	// jumpIf jumps to the return for target when A == k (or A & k for jset,
	// A >= k for jge), else falls through.
	jumpIf := func(code uint16, k, target uint32) {
		jumps = append(jumps, jump{at: len(prog), target: target})
		prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | code | unix.BPF_K, K: k})
	}

	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch)
	prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: auditArch, Jt: 1})
	stmt(unix.BPF_RET|unix.BPF_K, eperm) // another architecture
	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr)
	if x32Bit != 0 {
		jumpIf(unix.BPF_JGE, x32Bit, eperm)
	}
	for _, nr := range deniedSyscalls {
		jumpIf(unix.BPF_JEQ, uint32(nr), eperm)
	}
	jumpIf(unix.BPF_JEQ, unix.SYS_CLONE3, enosys)
	// clone: inspect the flags.
	prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_CLONE, Jf: 2})
	stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArg0)
	jumpIf(unix.BPF_JSET, cloneNamespaceFlags, eperm)

	rets := map[uint32]int{}
	for _, r := range []uint32{allow, eperm, enosys} {
		rets[r] = len(prog)
		stmt(unix.BPF_RET|unix.BPF_K, r)
	}
	for _, j := range jumps {
		off := rets[j.target] - j.at - 1
		if off > 255 {
			return nil, fmt.Errorf("seccomp filter too long: jump of %d", off)
		}
		prog[j.at].Jt = uint8(off)
	}
	return prog, nil
}

// installSeccomp sets no_new_privs and loads the filter on every thread of
// the calling process.
func installSeccomp(prog []unix.SockFilter) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	return nil
}
