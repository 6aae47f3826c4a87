// Command gust is the whole platform in one binary: the roles (up, gateway,
// controller, invoker), the admin and bench tools, and a wsk-compatible CLI.
package main
