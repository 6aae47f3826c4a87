// Package reexec runs parts of Gust in a fresh copy of the current binary:
// the runtime proxy inside a sandbox, the sandbox's init. Because the copy is
// /proc/self/exe, it works the same for the gust binary and for test
// binaries, whose TestMain calls Init first.
package reexec
