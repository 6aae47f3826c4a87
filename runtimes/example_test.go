package runtimes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/runtimes"
)

// A sandbox driver starts the proxy as a re-exec of the current binary; the
// invoker then talks to it with a Client.
func Example() {
	sock := "/run/gust/sandbox-1/rt.sock"
	cmd := reexec.Command(runtimes.ProxyEntry)
	cmd.Env = append(cmd.Env, runtimes.EnvSocket+"="+sock, runtimes.EnvKind+"=nodejs:20")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr // the activation logs
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer cmd.Process.Kill()

	c := runtimes.NewClient(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock) // sandbox.Sandbox.Connect in the invoker
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.Init(ctx, &runtimes.InitRequest{Value: runtimes.InitValue{
		Name: "hello",
		Code: `function main(p) { return {greeting: 'Hello, ' + p.name}; }`,
	}})
	if err != nil { // errors.Is(err, runtimes.ErrInit): the code does not load
		fmt.Println(err)
		return
	}
	res, err := c.Run(ctx, &runtimes.RunRequest{Value: json.RawMessage(`{"name":"Ada"}`), ActivationID: "…"})
	if err != nil { // no answer: the sandbox died or ctx ended
		fmt.Println(err)
		return
	}
	fmt.Println(res.StatusCode, res.Status, string(res.Body))
}

// CompileGo builds a Go action on the invoker's side; the executable goes to
// a go:1.26 proxy as the base64 code of a binary action.
func ExampleCompileGo() {
	src := []byte(`package main

func Main(args map[string]any) map[string]any {
	return map[string]any{"greeting": "Hello, " + args["name"].(string)}
}
`)
	bin, err := runtimes.CompileGo(context.Background(), "/var/cache/gust/go", src, "main")
	if err != nil { // errors.Is(err, runtimes.ErrCompile): the message holds the compiler's output
		fmt.Println(err)
		return
	}
	fmt.Println(bin)
}
