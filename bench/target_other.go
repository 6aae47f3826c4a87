//go:build !linux

package bench

import (
	"os/exec"
	"syscall"
)

// setChildAttrs puts the child in its own process group.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
