package main

import (
	"os"

	"github.com/gust-faas/gust/internal/cli"
	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/internal/roles"
	_ "github.com/gust-faas/gust/runtimes" // registers the runtime proxy entry point
)

func main() {
	if reexec.Init() {
		return
	}
	if len(os.Args) > 1 {
		if run, ok := roles.Commands[os.Args[1]]; ok {
			os.Exit(run(os.Args[2:]))
		}
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
