package linux

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

var available = sync.OnceValue(probe)

// Available tells whether this host can run linux sandboxes: root, user
// namespaces that root can create and map, the cgroup controllers, and a
// seccomp filter for this architecture. The error, which wraps
// ErrUnavailable, says what is missing. The answer is computed once.
func Available() error { return available() }

func probe() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: it needs root (running as uid %d)", ErrUnavailable, os.Geteuid())
	}
	if auditArch == 0 {
		return fmt.Errorf("%w: no seccomp filter for this architecture", ErrUnavailable)
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return fmt.Errorf("%w: the kernel has no user namespaces", ErrUnavailable)
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n == 0 {
			return fmt.Errorf("%w: user namespaces are disabled (user.max_user_namespaces = 0)", ErrUnavailable)
		}
	}
	if _, err := detectCgroups(defaultCgroupParent); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// Create the namespaces for real: a container engine's seccomp profile
	// or an LSM can refuse what the files above allow.
	var st unix.Stat_t
	if err := unix.Stat("/bin/true", &st); err == nil {
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
				unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: defaultUIDBase, Size: uidRange}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: defaultUIDBase, Size: uidRange}},
			GidMappingsEnableSetgroups: true,
			Credential:                 &syscall.Credential{Uid: 0, Gid: 0},
		}
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%w: creating the sandbox namespaces failed: %w", ErrUnavailable, err)
		}
	}
	return nil
}
