package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// HashKey returns the hex SHA-256 of an API key, the form Identity.KeyHash
// holds. Keys are long random strings, so an unsalted fast hash is enough.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Matches reports whether key is the identity's key, in time independent of
// where the hashes differ.
func (id Identity) Matches(key string) bool {
	sum := sha256.Sum256([]byte(key))
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return len(id.KeyHash) == len(buf) && subtle.ConstantTimeCompare(buf[:], []byte(id.KeyHash)) == 1
}
