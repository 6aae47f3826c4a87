package process_test

import (
	"context"
	"fmt"
	"os"

	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/process"
)

// A sandbox's life: Create, Start, talk to the runtime proxy over
// connections from Connect, Destroy. The linux driver is used the same way.
func Example() {
	ctx := context.Background()
	d := process.New(process.Config{RunDir: "/run/gust/sandboxes"})
	sb, err := d.Create(ctx, sandbox.Spec{ID: "sb-1", Kind: "nodejs:20", MemoryMB: 256, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sb.Destroy(ctx)
	if err := sb.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	c := runtimes.NewClient(sb.Connect)
	defer c.Close()
	err = c.Init(ctx, &runtimes.InitRequest{Value: runtimes.InitValue{
		Name: "hello", Main: "main", Code: `function main(a) { return {hello: a.name} }`,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Run(ctx, &runtimes.RunRequest{Value: []byte(`{"name":"gust"}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", res.Body)
}
