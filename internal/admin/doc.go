// Package admin manages namespaces and their keys: `gust admin user ...`,
// the guest namespace on start, and a small admin API on a unix socket in
// the data directory. The socket's file mode (0600, root) is its
// authorization, as with docker.sock: whoever may open it may administer.
package admin
