package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gust-faas/gust/internal/reexec"
)

// floorServerEntry is the re-exec entry point of the HTTP floor's server:
// a trivial Go net/http server in its own process, as the gateway is in
// its own process apart from the load generator.
const floorServerEntry = "bench-http-floor"

func init() { reexec.Register(floorServerEntry, floorServerMain) }

// floorServerMain listens on a free loopback port, prints the address on
// stdout and serves until its stdin closes (its parent is gone or done).
func floorServerMain() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench floor server:", err)
		os.Exit(1)
	}
	answer := []byte(`{"ok":true}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) // ends with the process
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// floorServer is a running floor server process.
type floorServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

// startFloorServer starts the server process and reads its address.
func startFloorServer() (*floorServer, error) {
	cmd := reexec.Command(floorServerEntry)
	setChildAttrs(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &floorServer{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() { // ends when the child writes its address or exits
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case s.addr = <-line:
	case <-time.After(10 * time.Second):
	}
	if s.addr == "" {
		s.Close()
		return nil, fmt.Errorf("the floor server did not start")
	}
	return s, nil
}

// Close ends the server process and waits for it.
func (s *floorServer) Close() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}
