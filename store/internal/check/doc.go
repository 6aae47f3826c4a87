// Package check validates the arguments of store methods, so that every
// implementation rejects the same inputs with the same error (store.ErrInvalid)
// and can build keys from what passes without escaping:
//
//   - a namespace is 1-256 bytes of OpenWhisk's name alphabet [A-Za-z0-9_@ .-],
//     so it never holds the separators ':', '/' or NUL;
//   - a collection is one of store's four;
//   - entity names, activation ids, KV keys and UUIDs are non-empty, bounded
//     and free of NUL; they always come last in a key, so they need no escaping.
//
// The checks are byte loops, cheap enough for the hot path.
package check
