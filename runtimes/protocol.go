package runtimes

import "encoding/json"

// InitRequest is the body of POST /init.
type InitRequest struct {
	Value InitValue `json:"value"`
}

// InitValue carries the action's code. Code is base64 when Binary. Env holds
// the __OW_* context and the action's init parameters, as strings.
type InitValue struct {
	Name   string            `json:"name"`
	Main   string            `json:"main"`
	Code   string            `json:"code"`
	Binary bool              `json:"binary"`
	Env    map[string]string `json:"env,omitempty"`
}

// RunRequest is the body of POST /run. Every field but Value is exported to
// the action as __OW_<UPPER_NAME>.
type RunRequest struct {
	Value         json.RawMessage `json:"value"`
	Namespace     string          `json:"namespace"`
	ActionName    string          `json:"action_name"`
	ActionVersion string          `json:"action_version"`
	ActivationID  string          `json:"activation_id"`
	TransactionID string          `json:"transaction_id"`
	Deadline      string          `json:"deadline"`
	APIKey        string          `json:"api_key,omitempty"`
}

// The HTTP side of the protocol, as Gust's proxy speaks it.
//
// POST /init answers:
//
//	200 {"ok":true}   the code is loaded and the launcher acknowledged it
//	403 {"error":…}   the proxy was initialized before ("Cannot initialize
//	                  the action more than once.", as OpenWhisk's Go proxy)
//	502 {"error":…}   the code cannot run: bad base64 or archive, syntax
//	                  error, missing main, the launcher died (developer error)
//	400 {"error":…}   the body is not an InitRequest
//
// POST /run answers:
//
//	200 <result>      success: the result, a JSON object or array
//	502 <result>      application error: the action returned an object with
//	                  a top-level "error" key; marked with HeaderError:
//	                  ErrorApplication
//	502 {"error":…}   developer error, no marker: the result is not an object
//	                  or array ("The action did not return a dictionary or
//	                  array."), the launcher died during the run or before
//	                  it (the proxy stays unusable: every later /run fails)
//	500 {"error":…}   the proxy is not initialized (developer error)
//	400 {"error":…}   the body is not a JSON object (a caller bug)
//
// OpenWhisk's proxies answer an application error with 200 and the {error}
// object, and its invoker treats every other status as a developer error;
// Client follows the same rules for proxies that do not send the marker, so
// a stock OpenWhisk runtime works unchanged. Gust's proxy uses 502 for
// application errors and the marker header tells them apart from developer
// errors, which are 502 too when the action is at fault.
//
// POST /gust/handover (Gust's extension) answers:
//
//	200 {"trusted":bool}  with the launcher's stdin and fd 3 passed as
//	                      SCM_RIGHTS: the caller speaks the line protocol
//	                      below itself (Direct), takes care of the logs
//	                      (no sentinels), and the proxy refuses /run (502)
//	409 {"error":…}       not initialized, a native executable (a process per
//	                      run), a concurrent launcher, or a broken one
//
// The connection closes after the answer. A stock OpenWhisk proxy answers
// 404, and the caller keeps using /run.
//
// After every /init and /run the proxy prints LogSentinel on stdout and on
// stderr, after the launcher's own output (both share the same descriptors),
// and before it answers.
const (
	// HeaderError marks a non-200 /run answer that carries an application
	// error (the action's own {"error":…} result).
	HeaderError = "X-Gust-Error"
	// ErrorApplication is HeaderError's value for application errors.
	ErrorApplication = "application"
)

// OpenWhisk's messages for developer errors.
const (
	msgNotDictionary = "The action did not return a dictionary or array."
	msgAbnormalRun   = "The action did not produce a valid response and exited unexpectedly."
	msgInitTwice     = "Cannot initialize the action more than once."
	msgNotInit       = "The action has not been initialized."
	msgHandedOver    = "The runtime's launcher was handed over to the invoker: /run goes to it directly."
	msgNoHandover    = "This runtime cannot be handed over: only an initialized launcher taking one run at a time can."
)

// The launcher side: the actionloop line protocol.
//
// A launcher is a long-lived child of the proxy. It reads lines on stdin and
// writes lines on file descriptor 3; its stdout and stderr are the sandbox's
// log streams.
//
//  1. Acknowledgement. An executable (kind go:1.26) writes {"ok":true} on fd 3
//     once its code is loaded, or {"error":"…"} and exits if it cannot run.
//     The proxy starts it with OW_WAIT_FOR_ACK=1, so executables built by
//     OpenWhisk's Go runtime acknowledge too. Gust's node and python
//     launchers start before the code is known: their first stdin line is
//     the launcherInit message below, and they acknowledge it the same way.
//  2. Runs. Each /run body, with its CR and LF bytes turned into spaces (JSON
//     allows them only as whitespace), goes to stdin as one line. Gust's
//     own launchers get it split (the handover answer says "split":true):
//     the context, a JSON object of every member but "value", then a tab,
//     then the value, as in {"activation_id":"…",…}<TAB>{"x":1}. The
//     context is compact JSON Gust wrote, with no raw tab, so the first tab
//     ends it; the launcher parses the value alone and the context only when
//     the action looks at its environment (Node.js), which costs a rarely
//     woken launcher about 6 µs a run less than parsing the whole body. The
//     launcher sets __OW_<UPPER_KEY> from every context key (in the action's
//     environment, without setenv: see the launchers), calls main with the
//     value (an object), flushes the action's stdout and stderr, and writes
//     the result as one line of JSON on fd 3. An exception or panic in
//     main is answered {"error":"<message>"} (an application error, stack on
//     stderr); a result that is not an object or array is written as is and
//     the proxy turns it into a developer error.
//  3. Concurrency (Gust's extension, nodejs only). When the init env has
//     __OW_ALLOW_CONCURRENT=true the proxy sets launcherInit.Concurrent and
//     several runs may be in flight: each stdin line is prefixed by a decimal
//     request id and one space ("17 {…}"), and the launcher answers
//     "17 <result>" on fd 3 in any order. Without it the proxy sends one run
//     at a time.
//
// The launcher exits when stdin closes.

// launcherInit is the first line Gust's own launchers read.
type launcherInit struct {
	// Dir is the action's directory, the launcher's working directory.
	Dir string `json:"dir"`
	// Entry is the code to load: a file (index.js, __main__.py) or, for a
	// node zip, the directory holding package.json or index.js.
	Entry string `json:"entry"`
	// Main names the function to call.
	Main string `json:"main"`
	// Env is set in the launcher's environment before the code loads.
	Env map[string]string `json:"env,omitempty"`
	// Concurrent selects the id-prefixed line protocol.
	Concurrent bool `json:"concurrent,omitempty"`
}
