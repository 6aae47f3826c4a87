// Package reexec runs parts of Gust in a fresh process started from a
// binary that holds them: the sandbox's init and the runtime proxy inside a
// sandbox. An entry point is a function registered by name (Register) that
// Init, called first in main and in TestMain, runs instead of main when the
// environment selects it (Env).
//
// The binary is this one, /proc/self/exe (Command), which works the same
// for the gust binary and for test binaries; or, for the sandbox side, the
// much smaller gust-sandbox binary (cmd/gust-sandbox), which starts in
// about half the time: Sandbox finds it next to the running executable, or
// where GUST_SANDBOX_BIN says ("none" turns it off), and its Binary's
// Command starts it (a nil Binary's, this binary).
//
// A gust-sandbox from other sources than the running gust must not be used
// (the init's configuration and the proxy's protocol change between
// versions). Every binary built with this package answers a handshake, the
// reserved entry point "identity", with its build identity and its entry
// points (Probe); Sandbox uses a binary only when its identity equals this
// binary's (Identity: the Build stamp the Makefile gives both binaries, or
// the git revision of an unmodified checkout) and it holds the entry points
// asked for. Otherwise it returns why, and the caller warns and re-executes
// itself: slower, never wrong. The lookup, with its one exec, happens once
// per process, when the sandbox driver is made; the checked file is then
// held open and started through /proc/self/fd, so that replacing it on disk
// cannot swap in another version behind the check.
package reexec
