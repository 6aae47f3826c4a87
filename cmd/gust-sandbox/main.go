package main

import (
	"fmt"
	"os"

	"github.com/gust-faas/gust/internal/reexec"
	_ "github.com/gust-faas/gust/runtimes"      // the runtime proxy's entry point
	_ "github.com/gust-faas/gust/sandbox/linux" // the linux sandbox's init
)

func main() {
	if reexec.Init() {
		return
	}
	fmt.Fprintln(os.Stderr, "gust-sandbox: gust starts this program inside its sandboxes; it is not run by hand")
	os.Exit(2)
}
