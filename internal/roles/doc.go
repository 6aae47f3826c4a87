// Package roles builds Gust's roles from configuration and runs them:
// `gust up` (everything in one process), `gust gateway`, `gust controller`,
// `gust invoker`, and `gust admin`.
package roles
