// Package redistest starts a real redis-server for tests: a fresh one per
// call, on a free loopback port, with a temporary directory and no
// persistence, stopped when the test ends. Tests on machines without
// redis-server skip with the command that installs it.
package redistest
