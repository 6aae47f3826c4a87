package runtimes

import "syscall"

// childAttr makes a launcher or an action's executable die with the proxy.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
