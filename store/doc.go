// Package store is Gust's persistence seam: entities, content-addressed code,
// activation records, identities and key-value state for functions. Each
// concern is one small interface; store/redis and store/embedded implement
// them all, and storetest holds the conformance suite both must pass.
//
// Entities are stored as opaque JSON documents so that actions, packages,
// triggers and rules share one implementation; the gateway owns their shape.
package store
