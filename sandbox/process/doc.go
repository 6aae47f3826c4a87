// Package process is the sandbox driver without isolation: each sandbox is
// one child process, the runtime proxy, in its own process group. It needs
// no privileges and runs anywhere, which makes it the driver for development
// and for hosts where sandbox/linux is not available. It enforces no limits
// (Spec.MemoryMB is ignored; the proxy shares the host's network whatever
// Spec.Network says) and must not run untrusted code. Stop kills the
// proxy's process group; so does the proxy's own exit, so that nothing it
// started outlives it.
//
// A sandbox's files live in <RunDir>/<id>/: the proxy listens on rt.sock
// there. The proxy is the small gust-sandbox binary when there is one built
// with this one (Config.SandboxBin, reexec.Sandbox), else this binary,
// re-executed (internal/reexec) at entry point Config.ProxyEntry, with a clean environment that carries the socket
// path and the runtime kind.
package process
