package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gust-faas/gust/client"
)

// Version is the CLI version `property get --cliversion` prints; the build
// may set it with -ldflags "-X github.com/gust-faas/gust/internal/cli.Version=...".
var Version = "dev"

// Main runs the wsk-compatible CLI on args (the arguments after the program
// name, e.g. ["action", "list"]) and returns the process exit status: 0 on
// success, and wsk's codes otherwise (1 general, 2 usage, 3 network, the
// HTTP status minus 256 for an API error, 202 for a blocking invocation that
// did not finish in time).
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{
		stdout:       stdout,
		stderr:       stderr,
		lookupEnv:    os.LookupEnv,
		now:          time.Now,
		pollInterval: 2 * time.Second,
		stderrTTY:    isTerminal(stderr),
	}
	return a.run(ctx, args)
}

// app is one run of the CLI with its environment.
type app struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            func() time.Time
	pollInterval   time.Duration
	stderrTTY      bool // show progress of long uploads

	set   settings
	props *Props
	log   *slog.Logger
	c     *client.Client
}

// settings are the effective configuration: defaults < wskprops <
// environment < flags.
type settings struct {
	propsPath                            string
	apiHost, auth, namespace, apiVersion string
	cert, key                            string
	insecure, verbose, debug             bool
}

func (a *app) run(ctx context.Context, args []string) int {
	root := newRoot()
	in, err := parse(root, args)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) && ue.plain {
			fmt.Fprintln(a.stderr, ue.msg)
			return exitGeneral
		}
		return a.fail(&failure{msg: err.Error(), code: exitGeneral, usage: true})
	}
	if in.help || in.cmd.run == nil {
		printHelp(a.stdout, in.cmd)
		return 0
	}
	if err := a.configure(in); err != nil {
		return a.fail(err)
	}
	if err := in.cmd.run(ctx, a, in); err != nil {
		return a.fail(err)
	}
	return 0
}

func (a *app) fail(err error) int {
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{msg: err.Error(), code: 1}
	}
	if !f.silent {
		fmt.Fprintf(a.stderr, "error: %s\n", f.msg)
	}
	if f.usage {
		fmt.Fprintln(a.stderr, "Run 'gust --help' for usage.")
	}
	if f.code == 0 {
		return 1
	}
	return f.code
}

// configure computes the settings of this run.
func (a *app) configure(in *input) error {
	s := settings{apiHost: client.DefaultAPIHost, auth: client.GuestAuth, namespace: client.DefaultNamespace, apiVersion: client.DefaultAPIVersion}
	if p, ok := a.lookupEnv("WSK_CONFIG_FILE"); ok {
		s.propsPath = p
	} else {
		home, _ := a.lookupEnv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		if home != "" {
			s.propsPath = filepath.Join(home, ".wskprops")
		}
	}
	a.props = &Props{}
	if s.propsPath != "" {
		p, err := LoadProps(s.propsPath)
		if err != nil {
			return &failure{msg: fmt.Sprintf("Unable to read the properties file '%s': %v", s.propsPath, err), code: exitGeneral}
		}
		a.props = p
	}
	for key, dst := range map[string]*string{propAPIHost: &s.apiHost, propAuth: &s.auth, propNamespace: &s.namespace,
		propAPIVersion: &s.apiVersion, propCert: &s.cert, propKey: &s.key} {
		if v, ok := a.props.Get(key); ok && v != "" {
			*dst = v
		}
	}
	for env, dst := range map[string]*string{"WHISK_AUTH": &s.auth, "WHISK_APIHOST": &s.apiHost, "WHISK_APIVERSION": &s.apiVersion} {
		if v, ok := a.lookupEnv(env); ok && v != "" {
			*dst = v
		}
	}
	// Global flags; a command's own flag of the same name is not one.
	for _, fv := range in.flags {
		if !isGlobal(fv.spec) {
			continue
		}
		switch fv.spec.long {
		case "apihost":
			s.apiHost = fv.vals[0]
		case "apiversion":
			s.apiVersion = fv.vals[0]
		case "auth":
			s.auth = fv.vals[0]
		case "cert":
			s.cert = fv.vals[0]
		case "key":
			s.key = fv.vals[0]
		case "insecure":
			s.insecure = fv.vals[0] == "true"
		case "verbose":
			s.verbose = fv.vals[0] == "true"
		case "debug":
			s.debug = fv.vals[0] == "true"
		}
	}
	s.apiHost = strings.TrimRight(s.apiHost, "/")
	a.set = s
	level := slog.LevelWarn
	if s.debug {
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	a.log.Debug("configuration", "props", s.propsPath, "apihost", s.apiHost, "namespace", s.namespace, "apiversion", s.apiVersion)
	return nil
}

func isGlobal(f *flagSpec) bool {
	for _, g := range globalFlags {
		if g == f {
			return true
		}
	}
	return false
}

// client returns the API client of this run, built on first use.
func (a *app) client() (*client.Client, error) {
	if a.c != nil {
		return a.c, nil
	}
	if _, err := client.BaseURL(a.set.apiHost); err != nil {
		return nil, &failure{msg: "The API host is not valid: " + strings.TrimPrefix(err.Error(), client.ErrBadConfig.Error()+": "), code: exitGeneral}
	}
	t := client.NewTransport(a.set.insecure)
	if a.set.cert != "" || a.set.key != "" {
		pair, err := tls.LoadX509KeyPair(a.set.cert, a.set.key)
		if err != nil {
			return nil, &failure{msg: "Unable to load the X509 key pair due to the following reason: " + err.Error(), code: exitGeneral}
		}
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	var rt http.RoundTripper = t
	if a.stderrTTY {
		rt = &progressTransport{next: rt, w: a.stderr}
	}
	if a.set.verbose || a.set.debug {
		rt = &verboseTransport{next: rt, w: a.stdout, full: a.set.debug}
	}
	c, err := client.New(client.Config{
		APIHost:    a.set.apiHost,
		Auth:       a.set.auth,
		Namespace:  a.set.namespace,
		APIVersion: a.set.apiVersion,
		HTTPClient: &http.Client{Transport: rt},
		UserAgent:  "Gust-CLI/" + Version,
		Insecure:   a.set.insecure,
	})
	if err != nil {
		return nil, &failure{msg: "Unable to initialize server connection: " + err.Error(), code: exitGeneral}
	}
	a.c = c
	return c, nil
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
