// Package launch holds what the sandbox drivers (sandbox/process,
// sandbox/linux) do alike around a runtime proxy they start: check the
// sandbox id they name its directory (and cgroup) after, and wait until the
// proxy listens on its socket.
package launch
