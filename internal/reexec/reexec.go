package reexec

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/gust-faas/gust/internal/goahead"
)

// envKey selects the registered entry point in the child.
const envKey = "GUST_REEXEC"

var entries = map[string]func(){}

// Register names an entry point. Call it from an init function.
func Register(name string, main func()) {
	if _, dup := entries[name]; dup || name == identityEntry {
		panic(fmt.Sprintf("reexec: %q registered twice", name))
	}
	entries[name] = main
}

// Init runs the registered entry point this process was started for and
// exits; it returns false when the process is not a re-exec. Call it first
// in main and in TestMain.
func Init() bool {
	name := os.Getenv(envKey)
	if name == "" {
		return false
	}
	if name == identityEntry {
		if _, err := os.Stdout.Write(appendIdentity(nil)); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	main, ok := entries[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "reexec: no entry point %q\n", name)
		os.Exit(2)
	}
	// An entry started ahead of its go-ahead (a sandbox's runtime proxy)
	// takes its environment and output from it.
	if _, err := goahead.Await(); err != nil {
		fmt.Fprintf(os.Stderr, "reexec %s: %v\n", name, err)
		os.Exit(125)
	}
	os.Unsetenv(envKey)
	main()
	os.Exit(0)
	return true
}

// Self is the path of the running binary, as a re-exec should start it.
func Self() string { return "/proc/self/exe" }

// Command returns a command that starts entry point name of this binary with
// args. The caller sets the rest (env, files, SysProcAttr) before Start; the
// entry point is selected through the environment, so a caller that replaces
// cmd.Env must keep Env(name) in it.
func Command(name string, args ...string) *exec.Cmd { return command(Self(), name, args...) }

func command(path, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Args[0] = "gust-" + name
	cmd.Env = append(os.Environ(), Env(name))
	return cmd
}

// Env is the environment entry that selects entry point name.
func Env(name string) string { return envKey + "=" + name }
