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

func TestZZRecord(t *testing.T) {
	from, to := os.Getenv("ZZ_RECORD_FROM"), os.Getenv("ZZ_RECORD_TO")
	if from == "" {
		t.Skip()
	}
	rep, err := ReadJSON(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := RecordResults(to, rep); err != nil {
		t.Fatal(err)
	}
}
