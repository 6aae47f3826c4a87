// Package jsonstr appends JSON string literals without encoding/json's
// reflection and allocations, for the hot paths that build JSON by hand
// (the gateway's web action bodies, the runtime client's /init and /run
// requests).
package jsonstr
