#!/bin/sh
# Entry point of the gust image: `gust "$@"`, after one preparation for
# linux sandboxes in a container on cgroup v2.
#
# The sandbox driver makes its cgroups under the root of the cgroup
# hierarchy it sees, and enables the memory, cpu and pids controllers
# there. In a container with its own cgroup namespace that root is the
# container's cgroup, and cgroup v2 lets a cgroup that holds processes hand
# no controllers to its children ("no internal processes"). So move this
# container's processes into a leaf, /init, first, as docker:dind does.
# Nothing is done on cgroup v1, with a read-only /sys/fs/cgroup (then
# `--sandbox auto` falls back to process sandboxes and says why), or
# outside a private cgroup namespace (the real root cgroup is exempt, and
# moving a host's processes would be wrong).
set -eu

case "${1:-}" in
invoker | up)
	cg=/sys/fs/cgroup
	if [ -f "$cg/cgroup.controllers" ] && [ -f "$cg/cgroup.type" ] &&
		[ -w "$cg/cgroup.subtree_control" ] && [ "$(cat /proc/self/cgroup)" = "0::/" ]; then
		mkdir -p "$cg/init"
		# cgroup.procs takes one pid per write; a pid gone meanwhile is fine.
		xargs -rn1 <"$cg/cgroup.procs" >"$cg/init/cgroup.procs" 2>/dev/null || :
	fi
	;;
esac
exec /usr/local/bin/gust "$@"
