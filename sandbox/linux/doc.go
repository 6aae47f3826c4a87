// Package linux is the sandbox driver built from Linux namespaces, cgroups
// and seccomp, with golang.org/x/sys/unix and no container engine.
//
// # A sandbox
//
// Create makes <RunDir>/<id>/{root,sock} and the sandbox's cgroups (memory
// limit = Spec.MemoryMB with swap off, cpu shares or weight proportional to
// memory, a pids limit, the freezer). Making them ahead of Start lets the
// invoker's pool pay for them before a request waits.
//
// Start re-executes this binary (internal/reexec, entry "sandbox-init") in
// new user, pid, mount, uts, ipc and network namespaces. The user namespace
// maps 0..65535 to host uids UIDBase..UIDBase+65535. The init, as root of
// that namespace:
//
//   - builds a root file system on a small tmpfs: /usr (and /bin, /lib...
//     as symlinks or binds, as on the host) and a few /etc files bound
//     read-only from the host, a generated passwd, group and hosts, a
//     private size-bounded /tmp and /dev/shm, a fresh /proc, a /dev with
//     null, zero, full, random and urandom bound from the host, the
//     socket directory at /run/gust (read-write), and this binary itself,
//     read-only at /.gust/gust so that the proxy can be executed inside;
//   - pivot_roots into it, detaches the host's tree and remounts / read-only;
//   - waits until the driver has moved it into the cgroups (v1; on v2 it is
//     cloned straight into its cgroup) and unshares a cgroup namespace;
//   - empties the capability bounding and ambient sets, sets no_new_privs,
//     loads a seccomp filter (see seccomp_linux.go), and starts the proxy
//     (entry Config.ProxyEntry) as uid/gid 65534 with no groups, no
//     capabilities and a clean environment;
//   - stays as pid 1 to reap orphans and exits with the proxy's status,
//     which ends the pid namespace and everything in it.
//
// The proxy serves the runtime protocol on /run/gust/rt.sock, seen by the
// host as <RunDir>/<id>/sock/rt.sock; that socket is the sandbox's only
// channel: its network namespace holds nothing but lo.
//
// Stop kills the init (all of the pid namespace dies with it) and anything
// left in the cgroups; Pause and Resume use the cgroup freezer and return
// once the kernel reports the new state; an OOM kill in the memory cgroup
// shows in ExitReason.
//
// Available tells whether the host can run the driver; `gust up` falls back
// to sandbox/process with a warning when it cannot.
package linux
