package sandboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
)

// Entry points registered by this package.
const (
	// StandInEntry serves StandInHandler on the socket named by the
	// environment; drivers under test start it as their runtime proxy.
	StandInEntry = "sandboxtest-standin"
	// SleeperEntry sleeps for an hour; the stand-in's /spawn starts it as
	// a straggler that the driver must kill with the sandbox.
	SleeperEntry = "sandboxtest-sleeper"
)

func init() {
	reexec.Register(StandInEntry, func() { Serve(StandInHandler()) })
	reexec.Register(SleeperEntry, func() { time.Sleep(time.Hour) })
}

// Serve listens on the unix socket named by GUST_RUNTIME_SOCKET and serves h
// until the process is killed. It is the body of a stand-in entry point;
// it exits the process with status 2 if it cannot listen.
func Serve(h http.Handler) {
	path := os.Getenv(runtimes.EnvSocket)
	if path == "" {
		fmt.Fprintln(os.Stderr, "stand-in runtime: "+runtimes.EnvSocket+" is not set")
		os.Exit(2)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stand-in runtime:", err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	err = srv.Serve(ln)
	fmt.Fprintln(os.Stderr, "stand-in runtime:", err)
	os.Exit(2)
}

// Env is what the stand-in's GET /env reports.
type Env struct {
	Kind string `json:"kind"`
	PID  int    `json:"pid"`
	UID  int    `json:"uid"`
}

// StandInHandler serves the stand-in's routes:
//
//	POST /init          {"ok":true}
//	POST /run           the request body, echoed
//	GET  /env           Env
//	POST /log           writes the body as one line to stdout and, with
//	                    " stderr" appended, to stderr
//	POST /spawn?token=T starts SleeperEntry with argument T (a straggler)
//	POST /exit          exits with status 3 without answering
func StandInHandler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /init", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(Env{Kind: os.Getenv(runtimes.EnvKind), PID: os.Getpid(), UID: os.Getuid()})
	})
	mux.HandleFunc("POST /log", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(os.Stdout, "%s\n", b)
		fmt.Fprintf(os.Stderr, "%s stderr\n", b)
	})
	mux.HandleFunc("POST /spawn", func(w http.ResponseWriter, r *http.Request) {
		cmd := reexec.Command(SleeperEntry, r.URL.Query().Get("token"))
		if err := cmd.Start(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"pid":%d}`, cmd.Process.Pid)
		go cmd.Wait() // reap it if it ever exits
	})
	mux.HandleFunc("POST /exit", func(w http.ResponseWriter, r *http.Request) {
		os.Exit(3)
	})
	return mux
}

// Client returns an HTTP client whose connections come from sb.Connect;
// the host part of request URLs is ignored.
func Client(sb sandbox.Sandbox) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return sb.Connect(ctx)
		},
		MaxIdleConnsPerHost: 16,
	}}
}
