// Package linux is the sandbox driver built from Linux namespaces, cgroups
// and seccomp, with golang.org/x/sys/unix and no container engine.
//
// # Create
//
// Create makes <RunDir>/<id>/{root,sock} and the sandbox's cgroups (memory
// limit = Spec.MemoryMB with swap off, cpu shares or weight proportional to
// memory, a pids limit, the freezer; v1 hierarchies or pure v2, detected;
// cgroup_v2_test.go runs the v2 path, all but its limits, on a v1 host's
// hybrid cgroup2 mount too),
// then starts the sandbox's init: the small gust-sandbox binary when there
// is one built with this one (Config.SandboxBin, reexec.Sandbox), else this
// binary, re-executed (internal/reexec, entry "sandbox-init") in new user,
// pid, mount, uts, ipc and network namespaces. The driver's spawner, one
// process of that binary started with New (entry "sandbox-spawner",
// spawner_linux.go), forks the inits: forked from the driver's process,
// each cost a copy of its page tables, 29-31 ms from a process holding
// 512 MB. The user namespace maps 0..65535 to host uids
// UIDBase..UIDBase+65535. While the driver moves the init into the cgroups
// (v1; on v2 it is cloned straight into its cgroup), the init builds a root
// file system on a small tmpfs:
//
//   - /usr (and /bin, /lib... as symlinks or binds, as on the host) and a
//     few /etc files bound read-only from the host; a generated passwd,
//     group, hosts and hostname;
//   - a private, size-bounded /tmp and /dev/shm; a fresh /proc; a /dev
//     with null, zero, full, random and urandom bound from the host;
//   - the socket directory at /run/gust, read-write, and the init's own
//     binary, read-only at /.gust/gust, so that the proxy can be executed
//     inside;
//
// then pivot_roots into it, detaches the host's tree, remounts / read-only,
// reports ready and waits. Create thus pays for the clone, the mounts and
// the first cgroup attach (~10 ms on v1 after an idle spell, overlapped
// with the mounts); a pool that creates sandboxes ahead of need keeps all
// of it off the request path.
//
// # Start
//
// Start tells the init to go on: it unshares a cgroup namespace, empties
// its capability bounding, ambient and inheritable sets, sets no_new_privs,
// loads a seccomp filter (seccomp_linux.go) and starts the proxy (entry
// Config.ProxyEntry) as uid/gid 65534 with no groups, no capabilities, a
// clean environment and /tmp as its working directory. The init stays as
// pid 1 to reap orphans and exits with the status of the sandbox's main
// process, which ends the pid namespace and everything in it. The main
// process is the proxy until it hands its launcher over to the invoker:
// then it writes the launcher's pid on a pipe to the init (fd 4,
// runtimes.EnvAdopt) and exits, and the launcher, re-parented to the init,
// is the main process. An idle sandbox holds two processes, not three: a
// paused python sandbox's PSS went from 5.4 to 4.1 MB (gust bench's
// density, 500 of them). Start returns once the proxy's
// socket, /run/gust/rt.sock inside and <RunDir>/<id>/sock/rt.sock on the
// host, accepts a connection: that socket is the sandbox's only channel.
//
// # Network
//
// By default the network namespace holds nothing but lo. With
// Spec.Network the sandbox gets eth0, one end of a veth pair whose host
// end is gv<tag>-<n>, a /30 of Config.NetworkCIDR and a default route
// through the host, which masquerades its traffic (an nftables table
// installed with the nft command; IPv4 forwarding is turned on) and drops
// what it sends to the host itself, to other sandboxes, 127/8 and
// 169.254/16. Networked sandboxes have shells of their own (see
// shellPool), so that a veth pair is built ahead of need, not in a cold
// start.
//
// # Stop, Pause, exit reasons
//
// Stop kills the init (all of the pid namespace dies with it) and anything
// left in the cgroups; Destroy also removes the cgroups, the veth and the
// directory. Pause and Resume use the cgroup freezer and return once the
// kernel reports the new state. An OOM kill in the memory cgroup shows in
// ExitReason as "the action exceeded its memory limit of N MB".
//
// Available tells whether the host can run the driver; `gust up` falls back
// to sandbox/process with a warning when it cannot.
package linux
