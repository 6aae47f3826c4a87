package runtimes

import "syscall"

// childAttr makes a launcher or an action's executable die with the proxy
// when pdeath is set.
func childAttr(pdeath bool) *syscall.SysProcAttr {
	if !pdeath {
		return &syscall.SysProcAttr{}
	}
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
