//go:build !linux

package bench

import "os"

// isTerminal reports whether f is a terminal: a character device (which
// /dev/null also is; only Linux gets the exact test).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
