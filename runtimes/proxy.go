package runtimes

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/whisk"
	"golang.org/x/sys/unix"
)

// The proxy's re-exec entry point and its environment.
const (
	// ProxyEntry is the reexec entry point that runs Serve.
	ProxyEntry = "runtime"
	// EnvSocket names the unix socket the proxy listens on.
	EnvSocket = "GUST_RUNTIME_SOCKET"
	// EnvKind is the canonical kind the proxy runs (whisk.KindNode, ...).
	EnvKind = "GUST_RUNTIME_KIND"
	// EnvAdopt names a descriptor of a process that adopts the launcher: the
	// linux sandbox's init, the pid namespace's reaper. Once the proxy has
	// handed the launcher over, it writes the launcher's pid there and
	// exits, as it has nothing left to serve: an idle sandbox then holds the
	// init and the launcher only (the proxy's Go runtime was about 1.5 MB of
	// a paused python sandbox's 5.4 MB, PSS). Without it the proxy stays,
	// the launcher's parent, and the launcher dies with it (Pdeathsig).
	EnvAdopt = "GUST_RUNTIME_ADOPT_FD"
)

// Bounds on request bodies.
const (
	maxInitBody = 96 << 20 // whisk.MaxCodeSize base64-encoded, with room
	maxRunBody  = 16 << 20
)

// Interpreters, by absolute path: the python3 on PATH may be a slow shim.
const (
	nodePath   = "/usr/bin/node"
	pythonPath = "/usr/bin/python3"
)

//go:embed launchers/launcher.js
var launcherJS []byte

//go:embed launchers/launcher.py
var launcherPy []byte

var sentinel = []byte(whisk.LogSentinel + "\n")

func init() {
	reexec.Register(ProxyEntry, proxyMain)
}

// proxyMain is the entry point: Serve on $GUST_RUNTIME_SOCKET until SIGTERM.
func proxyMain() {
	socket, kind, launchers := os.Getenv(EnvSocket), os.Getenv(EnvKind), os.Getenv(EnvLaunchers)
	adopt := adopter(os.Getenv(EnvAdopt))
	for _, k := range []string{EnvSocket, EnvKind, EnvLaunchers, EnvAdopt} {
		os.Unsetenv(k)
	}
	// One P: the proxy does little CPU work per call, and a single thread
	// avoids cross-CPU wake-ups on the hot path (see limits.md B6).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, socket, kind, launchers, adopt); err != nil {
		fmt.Fprintln(os.Stderr, "gust runtime:", err)
		os.Exit(1)
	}
}

// runner executes /run for an initialized action.
type runner interface {
	// run executes one run; body is the /run JSON object with CR and LF
	// turned into spaces and spare capacity for one more byte. The result
	// is appended to dst. A runError is a developer error.
	run(body, dst []byte) ([]byte, error)
	// trusted reports whether results are valid JSON by construction.
	trusted() bool
	stop()
}

// proxy is one runtime proxy: a work directory, maybe a launcher started
// ahead of /init, and after /init the action's runner.
type proxy struct {
	kind string
	dir  string   // work directory, removed at the end
	env  []string // the launchers' clean environment

	pre    *loop // launcher started ahead of /init (node, python)
	preErr error
	adopt  *os.File // see EnvAdopt; nil: the proxy stays

	initMu sync.Mutex
	inited bool
	runner atomic.Pointer[runner] // set under connMu

	connMu   sync.Mutex
	conns    map[net.Conn]struct{}
	starting *loop // an executable waiting for its ack
	closed   bool  // no new connections, runners or launchers
	wg       sync.WaitGroup
}

// Serve runs the runtime proxy for kind (a canonical kind or an alias) on a
// new unix socket at socketPath, mode 0666, until ctx ends. A stale socket at
// the path is replaced. On return the launcher and every process it started
// are killed and the work directory is gone.
func Serve(ctx context.Context, socketPath string, kind string) error {
	return serve(ctx, socketPath, kind, "", nil)
}

// adopter opens the descriptor EnvAdopt names, nil when there is none.
func adopter(v string) *os.File {
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd) // not the launchers'
	return os.NewFile(uintptr(fd), "adopter")
}

// serve is Serve with the directory of prepared launchers (EnvLaunchers),
// "" for none, and the adopter of a handed-over launcher (EnvAdopt), nil
// for none.
func serve(ctx context.Context, socketPath, kind, launchers string, adopt *os.File) error {
	if socketPath == "" {
		return errors.New("runtime proxy: no socket path")
	}
	k, err := whisk.CanonicalKind(kind)
	if err != nil || k == whisk.KindSequence {
		return fmt.Errorf("%w: %q", ErrBadKind, kind)
	}
	// Listen before the interpreter starts: a sandbox driver waits for the
	// socket, and the start held it back by 1-2 ms (the vfork returns once
	// the child has exec'd, and the proxy, a batch task in a sandbox, then
	// waits for the CPU the new interpreter holds). An /init that comes
	// early waits for the launcher, which it would wait for anyway.
	ln, err := listenUnix(socketPath)
	if err != nil {
		return err
	}
	p, err := newProxy(k, launchers, adopt)
	if err != nil {
		ln.Close()
		return err
	}
	defer p.cleanup()
	return p.serve(ctx, ln)
}

// listenUnix listens on a new socket at path, replacing a stale one (left by
// a proxy that was killed) but not a live one.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("runtime proxy: %s is in use", path)
		}
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func newProxy(kind, launchers string, adopt *os.File) (*proxy, error) {
	dir, err := os.MkdirTemp("", "gust-runtime-")
	if err != nil {
		return nil, err
	}
	p := &proxy{kind: kind, dir: dir, env: cleanEnv(), conns: map[net.Conn]struct{}{}, adopt: adopt}
	switch kind {
	case whisk.KindNode:
		p.prestart(p.launcher(launchers, launcherNodeFile, "launcher.js", launcherJS), interpreter(nodePath, "node"))
	case whisk.KindPython:
		p.prestart(p.launcher(launchers, launcherPythonFile, "launcher.py", launcherPy), interpreter(pythonPath, "python3"), "-S", "-B")
	}
	return p, nil
}

// launcher is the path of a launcher to start: the prepared one in
// launchers when there is one, else src written into the work directory as
// name ("" when that fails, with preErr set).
func (p *proxy) launcher(launchers, prepared, name string, src []byte) string {
	if launchers != "" {
		if path := filepath.Join(launchers, prepared); exists(path) {
			return path
		}
	}
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		p.preErr = err
		return ""
	}
	return path
}

// prestart starts a launcher, so that a prewarmed sandbox holds a running
// interpreter and /init only loads the code.
func (p *proxy) prestart(path string, bin string, flags ...string) {
	if path == "" {
		return
	}
	l, err := startLoop(bin, append(flags, path), p.dir, p.env, p.adopt == nil)
	if err != nil {
		p.preErr = fmt.Errorf("cannot start the %s launcher: %v", p.kind, err)
		return
	}
	l.trust = true
	p.pre = l
}

func interpreter(path, name string) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return path
}

// cleanEnv is what a launcher inherits from the host: PATH, HOME=/tmp and
// LANG. Anything else (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, PYTHONPATH, …)
// could slow the launcher down or change how the code runs.
func cleanEnv() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	lang := os.Getenv("LANG")
	if lang == "" {
		lang = "C.UTF-8"
	}
	return []string{"PATH=" + path, "HOME=/tmp", "LANG=" + lang}
}

func (p *proxy) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		p.connMu.Lock()
		if p.closed {
			p.connMu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.connMu.Unlock()
		go p.serveConn(c)
	}
}

// cleanup closes every connection, kills the launchers and removes the work
// directory, after the last connection goroutine is done.
func (p *proxy) cleanup() {
	p.connMu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	r := p.runner.Load()
	if p.starting != nil {
		p.starting.kill() // unblocks /init; its handler stops it
	}
	p.connMu.Unlock()
	if r != nil {
		(*r).stop()
	}
	if p.pre != nil {
		p.pre.stop()
	}
	p.wg.Wait()
	os.RemoveAll(p.dir)
}

// srvConn is one client connection with its reusable buffers.
type srvConn struct {
	c    net.Conn
	r    *bufio.Reader
	h    head
	body []byte // /run body
	res  []byte // /run result
	out  []byte // response head (and small bodies)
}

// Routes.
const (
	routeNone = iota
	routeInit
	routeRun
	routeHandover
)

func (p *proxy) serveConn(c net.Conn) {
	defer func() {
		p.connMu.Lock()
		delete(p.conns, c)
		p.connMu.Unlock()
		c.Close()
		p.wg.Done()
	}()
	sc := &srvConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}
	for {
		route, post, http10, err := readRequestLine(sc.r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				sc.respond(statusBadRequest, false, errorBody(err.Error()), true)
			}
			return
		}
		if err := readHeaders(sc.r, &sc.h); err != nil {
			sc.respond(statusBadRequest, false, errorBody(err.Error()), true)
			return
		}
		closeAfter := sc.h.close || (http10 && !sc.h.keepAlive)
		if route == routeNone || !post {
			status := statusNotFound
			if route != routeNone {
				status = statusMethodNotAllowed
			}
			if !sc.discardBody() {
				closeAfter = true
			}
			if !sc.respond(status, false, errorBody(statusText(status)), closeAfter) || closeAfter {
				return
			}
			continue
		}
		if route == routeHandover {
			if sc.discardBody() {
				p.handover(sc)
			}
			return
		}
		limit := int64(maxRunBody)
		if route == routeInit {
			limit = maxInitBody
		}
		body, status, err := sc.readBody(limit, route == routeRun)
		if err != nil {
			sc.respond(status, false, errorBody(err.Error()), true)
			return
		}
		var (
			code   int
			app    bool
			answer []byte
		)
		if route == routeInit {
			code, answer = p.handleInit(body)
		} else {
			code, app, answer = p.handleRun(sc, body)
		}
		if !sc.respond(code, app, answer, closeAfter) || closeAfter {
			return
		}
		if cap(sc.body) > 1<<20 {
			sc.body = nil // do not keep a large buffer for small calls
		}
	}
}

// readRequestLine parses "POST /run HTTP/1.1".
func readRequestLine(r *bufio.Reader) (route int, post, http10 bool, err error) {
	line, err := readHeadLine(r)
	if err != nil {
		return 0, false, false, err
	}
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		return 0, false, false, fmt.Errorf("%w: malformed request line", ErrProtocol)
	}
	method, target, proto := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
	default:
		return 0, false, false, fmt.Errorf("%w: unsupported protocol %q", ErrProtocol, proto)
	}
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		target = target[:q]
	}
	switch string(target) {
	case "/init":
		route = routeInit
	case "/run":
		route = routeRun
	case handoverPath:
		route = routeHandover
	}
	return route, string(method) == "POST", http10, nil
}

// readBody reads the request body, at most limit bytes. Run bodies go to the
// connection's reusable buffer, with one spare byte for the launcher's
// newline.
func (sc *srvConn) readBody(limit int64, reuse bool) ([]byte, int, error) {
	h := &sc.h
	if h.contentLength > limit {
		return nil, statusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", limit)
	}
	if h.expectContinue && (h.contentLength > 0 || h.chunked) {
		if _, err := sc.c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return nil, statusBadRequest, err
		}
	}
	if h.chunked {
		var dst []byte
		if reuse {
			dst = sc.body[:0]
		}
		b, err := readChunked(sc.r, dst, int(limit))
		if errors.Is(err, errBodyTooLarge) {
			return nil, statusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", limit)
		}
		if err != nil {
			return nil, statusBadRequest, fmt.Errorf("reading the request body: %v", err)
		}
		b = append(b, 0)[:len(b)] // the spare byte
		if reuse {
			sc.body = b
		}
		return b, 0, nil
	}
	n := int(max(h.contentLength, 0))
	var b []byte
	if reuse {
		if cap(sc.body) < n+1 {
			sc.body = make([]byte, n+1, max(n+1, 4096))
		}
		b = sc.body[:n]
	} else {
		b = make([]byte, n, n+1)
	}
	if _, err := io.ReadFull(sc.r, b); err != nil {
		return nil, statusBadRequest, fmt.Errorf("reading the request body: %v", err)
	}
	return b, 0, nil
}

// discardBody skips the body of a request that is refused; it reports
// whether the connection can carry on.
func (sc *srvConn) discardBody() bool {
	if sc.h.chunked || sc.h.contentLength > maxRunBody {
		return false
	}
	if sc.h.contentLength > 0 {
		_, err := sc.r.Discard(int(sc.h.contentLength))
		return err == nil
	}
	return true
}

// respond writes one response; it reports whether the write succeeded.
func (sc *srvConn) respond(status int, appError bool, body []byte, closeConn bool) bool {
	b := append(sc.out[:0], "HTTP/1.1 "...)
	b = appendInt(b, status)
	b = append(b, ' ')
	b = append(b, statusText(status)...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = appendInt(b, len(body))
	if appError {
		b = append(b, "\r\n"+HeaderError+": "+ErrorApplication...)
	}
	if closeConn {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	return writeMessage(sc.c, &sc.out, b, body) == nil
}

func appendInt(b []byte, n int) []byte {
	if n < 10 {
		return append(b, byte('0'+n))
	}
	var tmp [20]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

// sentinels marks the end of an activation's logs on both streams.
func sentinels() {
	_, _ = os.Stdout.Write(sentinel)
	_, _ = os.Stderr.Write(sentinel)
}

// handleRun serves POST /run.
func (p *proxy) handleRun(sc *srvConn, body []byte) (int, bool, []byte) {
	rp := p.runner.Load()
	if rp == nil {
		sentinels()
		return statusInternalServerError, false, errorBody(msgNotInit)
	}
	r := *rp
	if !isJSONObject(body) {
		sentinels()
		return statusBadRequest, false, errorBody("The request body is not a JSON object.")
	}
	// JSON allows CR and LF only as whitespace: one line for the launcher.
	for i := bytes.IndexByte(body, '\n'); i >= 0; i = bytes.IndexByte(body, '\n') {
		body[i] = ' '
	}
	for i := bytes.IndexByte(body, '\r'); i >= 0; i = bytes.IndexByte(body, '\r') {
		body[i] = ' '
	}
	res, err := r.run(body, sc.res[:0])
	if cap(res) <= 1<<20 {
		sc.res = res[:0]
	}
	sentinels()
	if err != nil {
		return statusBadGateway, false, errorBody(err.Error())
	}
	switch classifyResult(res, !r.trusted()) {
	case resultOK:
		return statusOK, false, res
	case resultAppError:
		return statusBadGateway, true, res
	default:
		return statusBadGateway, false, errorBody(msgNotDictionary)
	}
}

// handover serves POST /gust/handover, Gust's extension of the protocol
// (protocol.go): the answer carries the launcher's stdin and fd 3, and /run
// is refused from then on. The connection closes after it.
func (p *proxy) handover(sc *srvConn) {
	uc, _ := sc.c.(*net.UnixConn)
	var l *loop
	if rp := p.runner.Load(); rp != nil {
		l, _ = (*rp).(*loop)
	}
	if uc == nil || l == nil {
		sc.respond(statusConflict, false, errorBody(msgNoHandover), true)
		return
	}
	fds, err := l.handOver()
	if err != nil {
		sc.respond(statusConflict, false, errorBody(err.Error()), true)
		return
	}
	body := `{"trusted":false}`
	if l.trusted() {
		body = `{"trusted":true,"split":true}`
	}
	b := append(sc.out[:0], "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "...)
	b = appendInt(b, len(body))
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	if _, _, err := uc.WriteMsgUnix(b, unix.UnixRights(fds...), nil); err != nil {
		l.takeBack() // nobody has the pipes: keep serving /run
		return
	}
	l.handedOver() // the message holds its own references to the pipes
	if p.adopt != nil {
		p.leave(l)
	}
}

// leave ends the proxy after a handover, leaving its launcher to the
// adopter (EnvAdopt). It exits at once: the usual end would kill the
// launcher and remove the work directory that holds the action's code.
func (p *proxy) leave(l *loop) {
	fmt.Fprintf(p.adopt, "%d\n", l.cmd.Process.Pid)
	os.Exit(0)
}

// isJSONObject reports whether b is valid JSON whose value is an object.
func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// handleInit serves POST /init.
func (p *proxy) handleInit(body []byte) (int, []byte) {
	req, err := parseInit(body)
	if err != nil {
		return statusBadRequest, errorBody("The request body is not an init request: " + err.Error())
	}
	p.initMu.Lock()
	defer p.initMu.Unlock()
	if p.inited {
		return statusForbidden, errorBody(msgInitTwice)
	}
	p.inited = true
	r, err := p.load(&req.Value, req.raw)
	sentinels()
	if err != nil {
		return statusBadGateway, errorBody(err.Error())
	}
	p.connMu.Lock()
	closed := p.closed
	p.runner.Store(&r)
	p.connMu.Unlock()
	if closed {
		r.stop() // cleanup has run: nobody else will
	}
	return statusOK, []byte(`{"ok":true}`)
}

// initRequest is an InitRequest whose base64 code may still be in the
// request body: raw, when not nil, replaces Value.Code.
type initRequest struct {
	InitRequest
	raw []byte
}

// parseInit decodes an InitRequest. A compiled Go action is megabytes of
// base64, which encoding/json takes about 17 ms to decode: a large binary
// "code" string without escapes is cut out and taken as is (decodeCode checks
// it), and only the rest goes through encoding/json.
func parseInit(body []byte) (*initRequest, error) {
	var req initRequest
	start, end := -1, -1
	if v := valueOf(body, "value"); v >= 0 && v < len(body) && body[v] == '{' {
		if c := valueOf(body[v:], "code"); c >= 0 && v+c < len(body) && body[v+c] == '"' {
			start = v + c
			end = stringEnd(body, start)
		}
	}
	if start < 0 || end < 0 || end-start < 64<<10 || bytes.IndexByte(body[start:end], '\\') >= 0 {
		err := json.Unmarshal(body, &req.InitRequest)
		return &req, err
	}
	rest := make([]byte, 0, len(body)-(end-start)+2)
	rest = append(rest, body[:start]...)
	rest = append(rest, `""`...)
	rest = append(rest, body[end+1:]...)
	if err := json.Unmarshal(rest, &req.InitRequest); err != nil {
		return nil, err
	}
	if !req.Value.Binary {
		// Source text: let encoding/json check and decode it.
		if err := json.Unmarshal(body[start:end+1], &req.Value.Code); err != nil {
			return nil, err
		}
		return &req, nil
	}
	// base64: decodeCode refuses any byte that is not base64 or a line break.
	req.raw = body[start+1 : end]
	return &req, nil
}

// load prepares the action's code and starts (or tells) its launcher.
func (p *proxy) load(v *InitValue, raw []byte) (runner, error) {
	if err := checkEnv(v.Env); err != nil {
		return nil, err
	}
	code, err := decodeCode(v, raw)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(p.dir, "action")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	zipped := isZip(code)
	if zipped {
		if err := unzip(code, dir, maxArchiveFiles, maxArchiveBytes); err != nil {
			return nil, err
		}
	}
	main := v.Main
	if main == "" {
		main = "main"
	}
	switch p.kind {
	case whisk.KindNode:
		entry := dir
		if zipped {
			if !exists(filepath.Join(dir, "package.json")) && !exists(filepath.Join(dir, "index.js")) {
				return nil, errors.New("Zipped actions must contain either package.json or index.js at the root.")
			}
		} else {
			entry = filepath.Join(dir, "index.js")
			if err := os.WriteFile(entry, code, 0o644); err != nil {
				return nil, err
			}
		}
		return p.initLauncher(&launcherInit{Dir: dir, Entry: entry, Main: main, Env: v.Env,
			Concurrent: v.Env["__OW_ALLOW_CONCURRENT"] == "true"})
	case whisk.KindPython:
		entry := filepath.Join(dir, "__main__.py")
		if zipped {
			if !exists(entry) {
				return nil, errors.New("Zipped actions must contain __main__.py at the root.")
			}
		} else if err := os.WriteFile(entry, code, 0o644); err != nil {
			return nil, err
		}
		return p.initLauncher(&launcherInit{Dir: dir, Entry: entry, Main: main, Env: v.Env})
	case whisk.KindGo, whisk.KindBlackbox:
		exe, err := p.writeExec(dir, code, zipped, v.Binary)
		if err != nil {
			return nil, err
		}
		env := append(p.env[:len(p.env):len(p.env)], envList(v.Env)...)
		if p.kind == whisk.KindBlackbox {
			return &native{exe: exe, dir: dir, env: env}, nil
		}
		l, err := startLoop(exe, nil, dir, append(env, "OW_WAIT_FOR_ACK=1"), p.adopt == nil)
		if err != nil {
			return nil, fmt.Errorf("The action could not be started: %v", err)
		}
		p.connMu.Lock()
		p.starting = l
		if p.closed {
			l.kill()
		}
		p.connMu.Unlock()
		err = l.ack()
		p.connMu.Lock()
		p.starting = nil
		p.connMu.Unlock()
		if err != nil {
			l.stop()
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrBadKind, p.kind)
}

// initLauncher hands the code to the launcher started ahead of /init.
func (p *proxy) initLauncher(li *launcherInit) (runner, error) {
	if p.pre == nil {
		return nil, p.preErr
	}
	l := p.pre
	if err := l.init(li); err != nil {
		return nil, err
	}
	return l, nil
}

// writeExec places the action's executable at dir/exec: from a zip (which
// must hold it), or the code itself. Go actions must come compiled.
func (p *proxy) writeExec(dir string, code []byte, zipped, binary bool) (string, error) {
	exe := filepath.Join(dir, "exec")
	switch {
	case zipped:
		if !exists(exe) {
			return "", errors.New("Zipped actions must contain an executable named exec at the root.")
		}
		if err := os.Chmod(exe, 0o755); err != nil {
			return "", err
		}
	case p.kind == whisk.KindGo && !binary:
		return "", errors.New("go actions must be compiled: the code must be an executable (the invoker builds sources with runtimes.CompileGo)")
	default:
		if err := os.WriteFile(exe, code, 0o755); err != nil {
			return "", err
		}
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	f.Close()
	if !(n >= 2 && magic[0] == '#' && magic[1] == '!') && !(n == 4 && string(magic[:]) == "\x7fELF") {
		return "", errors.New("The action's exec is not an executable: it has neither an ELF header nor a #! line.")
	}
	return exe, nil
}

// checkEnv refuses init env entries the environment cannot hold.
func checkEnv(env map[string]string) error {
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("invalid environment variable %q", k)
		}
	}
	return nil
}

func envList(env map[string]string) []string {
	l := make([]string, 0, len(env))
	for k, v := range env {
		l = append(l, k+"="+v)
	}
	return l
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
