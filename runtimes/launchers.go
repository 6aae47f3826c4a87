package runtimes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// EnvLaunchers names a directory of launchers prepared by PrepareLaunchers,
// which the proxy starts instead of writing its own copies. A sandbox driver
// prepares them once and shows the directory to every sandbox, read-only.
const EnvLaunchers = "GUST_RUNTIME_LAUNCHERS"

// The prepared launchers' file names.
const (
	launcherNodeFile   = "launcher.js"
	launcherPythonFile = "launcher.pyc"
)

// PrepareLaunchers writes the Node.js launcher and the Python launcher,
// compiled to bytecode by this host's python3, into dir (made if needed).
// Python compiles its launcher at every start otherwise: 2.5 ms of each
// cold start, measured. Files are replaced atomically, so proxies starting
// meanwhile see the old or the new one. Without a python3 only the Node.js
// launcher is written; a proxy that finds no prepared launcher writes its
// own.
func PrepareLaunchers(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, launcherNodeFile), launcherJS); err != nil {
		return err
	}
	python := interpreter(pythonPath, "python3")
	if _, err := os.Stat(python); err != nil {
		return nil
	}
	src := filepath.Join(dir, "launcher.py")
	if err := writeAtomic(src, launcherPy); err != nil {
		return err
	}
	tmp := filepath.Join(dir, launcherPythonFile+".tmp")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Unchecked bytecode: the .pyc is run directly, never found by import.
	cmd := exec.CommandContext(ctx, python, "-S", "-B", "-c",
		"import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True, "+
			"invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)", src, tmp)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compiling the python launcher: %v: %s", err, out)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, launcherPythonFile))
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // whatever the umask
		return err
	}
	return os.Rename(tmp, path)
}
