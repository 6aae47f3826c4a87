package bench

import (
	"os/exec"
	"syscall"
)

// setChildAttrs puts the child in its own process group (a Ctrl-C at the
// terminal reaches the tool, which then stops the child in order) and has
// the kernel send it SIGTERM if the tool dies first.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
