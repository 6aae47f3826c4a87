// Package embednats runs the real nats-server inside the gust process, with
// JetStream on, for `gust up` and for tests. Roles in the same process
// connect to it in-process (no TCP); other processes reach it on its
// listen address.
package embednats
