package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/gust-faas/gust/whisk"
)

// Digest returns the name Codes stores code under: the hex SHA-256 of its
// bytes.
func Digest(code []byte) string {
	sum := sha256.Sum256(code)
	return hex.EncodeToString(sum[:])
}

// ActivationName is the name ActivationFilter.Name matches for a record: its
// "path" annotation without the leading namespace ("hello" or "pkg/hello"),
// or the record's Name when it has no usable path annotation.
func ActivationName(a *whisk.Activation) string {
	raw := a.Annotations.Get(whisk.AnnPath)
	if len(raw) < 2 {
		return a.Name
	}
	var path string
	if raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		path = string(raw[1 : len(raw)-1]) // the common case, without a JSON decoder
	} else if json.Unmarshal(raw, &path) != nil {
		return a.Name
	}
	_, name, ok := strings.Cut(path, "/")
	switch {
	case ok && name != "":
		return name
	case path == "" || ok: // "" or "ns/": no action in it
		return a.Name
	}
	return path
}
