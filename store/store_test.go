package store_test

import (
	"encoding/json"
	"testing"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

func TestHashKey(t *testing.T) {
	// sha256("abc"), the FIPS 180-2 test vector.
	if got, want := store.HashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashKey(abc) = %s, want %s", got, want)
	}
	if store.Digest([]byte("abc")) != store.HashKey("abc") {
		t.Fatal("Digest and HashKey disagree on the same bytes")
	}
}

func TestIdentityMatches(t *testing.T) {
	id := store.Identity{Namespace: "guest", UUID: "u", KeyHash: store.HashKey("secret")}
	tests := []struct {
		key  string
		want bool
	}{
		{"secret", true},
		{"Secret", false},
		{"", false},
		{store.HashKey("secret"), false}, // the hash is not the key
	}
	for _, tc := range tests {
		if got := id.Matches(tc.key); got != tc.want {
			t.Errorf("Matches(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if (store.Identity{}).Matches("") {
		t.Error("an identity without a key hash matches the empty key")
	}
}

func TestActivationName(t *testing.T) {
	tests := []struct {
		name string
		path json.RawMessage // nil = no path annotation
		want string
	}{
		{"action", json.RawMessage(`"guest/hello"`), "hello"},
		{"packaged", json.RawMessage(`"guest/pkg/hello"`), "pkg/hello"},
		{"other namespace", json.RawMessage(`"whisk.system/utils/echo"`), "utils/echo"},
		{"escaped", json.RawMessage(`"guest\/pkg\/h\u00e9"`), "pkg/hé"},
		{"no namespace", json.RawMessage(`"hello"`), "hello"},
		{"no path", nil, "fallback"},
		{"empty path", json.RawMessage(`""`), "fallback"},
		{"not a string", json.RawMessage(`42`), "fallback"},
		{"trailing slash", json.RawMessage(`"guest/"`), "fallback"},
	}
	for _, tc := range tests {
		a := &whisk.Activation{Name: "fallback"}
		if tc.path != nil {
			a.Annotations = whisk.KeyValues{{Key: whisk.AnnPath, Value: tc.path}}
		}
		if got := store.ActivationName(a); got != tc.want {
			t.Errorf("%s: ActivationName = %q, want %q", tc.name, got, tc.want)
		}
	}
}
