package bench

import (
	"os"
	"strings"
	"testing"
)

// Temporary: run `gust bench` from the test binary (ZZ_BENCH_ARGS).
func TestZZMain(t *testing.T) {
	args := os.Getenv("ZZ_BENCH_ARGS")
	if args == "" {
		t.Skip("ZZ_BENCH_ARGS not set")
	}
	if code := Main(strings.Fields(args)); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
