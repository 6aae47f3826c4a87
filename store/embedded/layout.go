package embedded

import (
	"encoding/binary"
)

// Bucket names; see doc.go.
var (
	bMeta        = []byte("meta")
	bEntities    = []byte("entities")
	bCodes       = []byte("codes")
	bActs        = []byte("activations")
	bActsByTime  = []byte("activations.time")
	bActsByName  = []byte("activations.name")
	bActsExpiry  = []byte("activations.expiry")
	bActsNameNew = []byte("activations.name.new")
	bIdentities  = []byte("identities")
	bIdentityIDs = []byte("identities.uuid")
	bKV          = []byte("kv")
	bKVExpiry    = []byte("kv.expiry")

	// appendedBuckets grow at their right end only; see commit.
	appendedBuckets = [][]byte{bActs, bActsByTime, bActsExpiry, bActsNameNew}

	allBuckets = [][]byte{bMeta, bEntities, bCodes, bActs, bActsByTime, bActsByName, bActsExpiry, bActsNameNew, bIdentities, bIdentityIDs, bKV, bKVExpiry}
)

// layoutVersion is stored in meta; Open refuses files of other versions.
const layoutVersion = "1"

var keyVersion = []byte("version")

// join returns the parts separated by NUL, in one allocation.
func join(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// joinTime returns prefix NUL... then S8(t) then tail: the form of the time
// indexes.
func joinTime(prefix []byte, t int64, tail string) []byte {
	b := make([]byte, 0, len(prefix)+8+len(tail))
	b = append(b, prefix...)
	b = binary.BigEndian.AppendUint64(b, uint64(t))
	return append(b, tail...)
}

func s8(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
