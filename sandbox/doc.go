// Package sandbox is the seam between the invoker and the place user code
// runs. A Driver makes Sandboxes; each Sandbox runs one runtime proxy that
// serves OpenWhisk's /init and /run on a unix socket (a virtio-serial port for
// microVMs, bridged to a unix socket on the host).
//
// Implementations: sandbox/process (a plain child process, no isolation, for
// development), sandbox/linux (namespaces, cgroups, seccomp). The conformance
// suite in sandbox/sandboxtest runs against every driver.
//
// # State machine
//
//	Create -> Start -> (Connect)* -> [Pause <-> Resume]* -> Stop -> Destroy
//
// Start is legal once, after Create. Connect is legal between Start and Stop.
// Pause and Resume (the optional Pauser interface) are legal between Start and
// Stop; Resume of a running sandbox and Pause of a paused one are no-ops.
// Stop kills the whole process tree and is idempotent. Destroy stops the
// sandbox if needed, releases every resource (directories, cgroups, network)
// and is idempotent: Destroy twice is harmless. Done is closed when the
// sandbox's processes have exited, for any reason (crash, OOM kill, Stop).
//
// A Sandbox is safe for concurrent use by several goroutines; the pool in
// the invoker owns its lifecycle.
package sandbox
