package check_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

func TestNamespace(t *testing.T) {
	tests := []struct {
		ns string
		ok bool
	}{
		{"guest", true},
		{"whisk.system", true},
		{"a b@c-d_e.F9", true},
		{strings.Repeat("n", 256), true},
		{"", false},
		{strings.Repeat("n", 257), false},
		{"a:b", false},
		{"a/b", false},
		{"a\x00b", false},
		{"ünï", false},
		{"a*", false},
	}
	for _, tc := range tests {
		err := check.Namespace(tc.ns)
		if (err == nil) != tc.ok {
			t.Errorf("Namespace(%.20q) = %v, want ok=%v", tc.ns, err, tc.ok)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Namespace(%.20q) = %v, not ErrInvalid", tc.ns, err)
		}
	}
}

func TestIsHexSHA256(t *testing.T) {
	good := store.Digest([]byte("x"))
	tests := []struct {
		s    string
		want bool
	}{
		{good, true},
		{strings.ToUpper(good), false},
		{good[:63], false},
		{good + "0", false},
		{strings.Repeat("g", 64), false},
	}
	for _, tc := range tests {
		if got := check.IsHexSHA256(tc.s); got != tc.want {
			t.Errorf("IsHexSHA256(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
