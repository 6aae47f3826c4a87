// Package runtimes runs user code: Gust's runtime proxy, which serves
// OpenWhisk's /init and /run on a unix socket inside a sandbox and drives a
// language launcher over the actionloop line protocol, the Go compile cache,
// and the client the invoker uses to talk to a proxy.
//
// # The proxy
//
// [Serve] listens on a unix socket and speaks OpenWhisk's runtime protocol
// (protocol.go documents the wire format and Gust's extensions). Sandbox
// drivers start it in a fresh copy of the current binary:
//
//	cmd := reexec.Command(runtimes.ProxyEntry)
//	cmd.Env = append(cmd.Env, runtimes.EnvSocket+"="+sock, runtimes.EnvKind+"="+kind)
//
// with the command's stdout and stderr as the sandbox's log streams. The
// proxy serves until SIGTERM (or until its context ends, in process).
//
// Per kind the proxy runs:
//
//   - nodejs:20: /usr/bin/node launcher.js, started when the proxy starts
//     (so a prewarmed sandbox has a warm interpreter) and told where the
//     code is at /init. A single file is index.js; a zip uses package.json
//     "main" or index.js. The entry point may be module.exports (a
//     function), exports.<main>, or a top-level function <main> as in
//     OpenWhisk. main may return a Promise.
//   - python:3.11: /usr/bin/python3 -S -B launcher.py, also started early.
//     A single file or a zip's __main__.py is loaded as module "main__".
//     -S skips the site module (3-4 ms of a 14 ms start here, more with .pth
//     hooks such as certifi's); the launcher adds the interpreter's
//     dist-packages and site-packages directories to sys.path itself,
//     without running .pth files, and a zip's
//     virtualenv/lib/python3.*/site-packages when present. -B: no .pyc
//     writes. The launcher does not import json (json pulls in re, about
//     8 ms): it drives the C codec in _json directly.
//   - go:1.26: the code is an executable speaking the actionloop protocol
//     (base64, or a zip holding "exec"), usually built by [CompileGo] on the
//     invoker's side. Any OpenWhisk actionloop executable works: it is
//     started with OW_WAIT_FOR_ACK=1 and must acknowledge on fd 3.
//   - blackbox: OpenWhisk's dockerskeleton semantics. The code is a zip
//     holding "exec", a bare executable or a script; every /run executes
//     exec '<args json>' (the args also on stdin), the last line of its
//     stdout is the result and everything else is logs.
//
// Launchers get a clean environment: PATH, HOME=/tmp, LANG, the init
// parameters and the __OW_* context, nothing else from the host. They die
// with the proxy (Pdeathsig) and stay in its process group, so a driver that
// kills the group kills them too.
//
// The proxy serves a minimal HTTP/1.1 by hand (wire.go): per warm /run it
// allocates nothing, and it runs with GOMAXPROCS=1 unless GOMAXPROCS is set.
//
// # The client
//
// [Client] talks to one proxy over connections from a dial function, keeps a
// few of them alive and speaks a minimal HTTP/1.1 by hand, which costs a
// fraction of net/http's client per call (see BenchmarkWarmRun).
package runtimes
