//go:build !linux

package runtimes

import "syscall"

// childAttr: without Linux's parent-death signal a launcher outlives a
// proxy that is killed (only the process sandbox runs elsewhere, for
// development).
func childAttr(bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
