// Package client is a small, typed Go client of the OpenWhisk REST API v1 as
// Gust serves it (and as Apache OpenWhisk does): actions and their
// invocation, packages and bindings, triggers and their firing, rules,
// activation records and namespaces. The gust CLI, the benchmark tool and
// users' programs share it.
//
// A Client is safe for concurrent use. It keeps connections alive (its
// transport holds up to 256 idle connections per host), so one Client should
// be created and reused, even under heavy load.
//
// Names passed to the methods are OpenWhisk names: "hello" and "pkg/hello"
// live in the client's namespace; "/ns/hello" and "/ns/pkg/hello" name their
// namespace explicitly.
//
// Errors returned by the server are *APIError values carrying the HTTP status
// and OpenWhisk's {"error","code"} body; they match the sentinel errors in
// errors.go with errors.Is (ErrNotFound for a 404, and so on).
package client
