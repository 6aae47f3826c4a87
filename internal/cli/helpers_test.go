package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// result is the outcome of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// propsFor writes a wskprops file pointing at f and returns its path.
func propsFor(t *testing.T, f *fakeAPI, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wskprops")
	content := "APIHOST=" + f.srv.URL + "\n" + extra
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs the CLI in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runCLICtx(t, context.Background(), env, args...)
}

func runCLICtx(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{
		stdout: &out, stderr: &errOut,
		lookupEnv:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		now:          time.Now,
		pollInterval: 10 * time.Millisecond,
	}
	code := a.run(ctx, args)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// runFake runs the CLI against f with default properties.
func runFake(t *testing.T, f *fakeAPI, args ...string) result {
	t.Helper()
	return runCLI(t, map[string]string{"WSK_CONFIG_FILE": propsFor(t, f, "")}, args...)
}

// writeFile writes a file in a temporary directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
