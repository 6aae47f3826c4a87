// Package gateway serves OpenWhisk's REST API v1 on Fiber: authentication,
// validation, action CRUD, invocation and activation records, with
// OpenWhisk's paths, query parameters, status codes and error bodies so the
// stock wsk CLI works unchanged.
//
// # Requests
//
// Everything under /api/v1/namespaces requires HTTP Basic auth "uuid:key";
// the path's namespace must be the caller's own or "_" (another namespace is
// 403 whether or not it exists, and another namespace's activation id is
// simply not found). Every response carries an X-Request-ID transaction id
// and OpenWhisk's CORS headers; OPTIONS is answered anywhere. Errors are
// {"error": message, "code": transaction id}, written by one function
// (errorHandler, mapping with status) from the error a handler returns.
//
// # Actions and code
//
// An action document in the store holds exec.digest and no code; the code
// goes to store.Codes exactly as the client sent it (base64 text when
// exec.binary, which the gateway sets as OpenWhisk does: the code is a
// non-empty multiple of 4 base64 characters). The API fills the code back
// in on GET (unless ?code=false), PUT and DELETE; lists show summaries.
//
// # Invocation
//
// The request body (a JSON object, or empty/null) is merged over the
// action's non-init parameters without decoding either side; init
// parameters go to the activation's InitEnv; a JSON array body is passed as
// is. The Controller gets a bus.ActivationMessage; the answer follows
// OpenWhisk: 202 {"activationId"} (non-blocking, or a blocking wait that
// elapsed), 200 / 502 / 500 with the record or its result, 503 without
// invokers, 429 when throttled or overloaded.
//
// # Packages
//
// Packages group actions ("pkg/action") under shared parameters; a binding
// is a package pointing at another one, adding or overriding parameters.
// Parameters merge package < binding < action < request. Another
// namespace's package is readable, bindable and invocable when published;
// every package of the read-only whisk.system namespace is (operators
// install them with InstallSystemPackage). An invocation of another
// namespace's action runs in, and is paid by, the caller's namespace. See
// packages.go.
//
// # Triggers and rules
//
// Triggers and rules have OpenWhisk's CRUD (triggers.go, rules.go). A rule
// links a trigger of its namespace to an action that exists when the rule
// is written (the namespace's own, or in another namespace's public
// package); it is created active and toggled with POST {"status"}. A GET of
// a trigger lists its rules; a rule reads inactive while its trigger does
// not exist. POST …/triggers/{name} fires the trigger through the
// Controller (type-asserted to Firer; controller.Fire does the fan-out):
// 202 {"activationId"} with the x-openwhisk-activation-id header once every
// active rule's activation is persisted and the trigger's record stored,
// 204 when no rule on it is active. Fires count against the namespace's
// FiresPerMinute (429). The built-in /whisk.system/alarms feeds
// (AlarmsPackage, installed by InstallBuiltinPackages) are actions the
// controller runs natively.
//
// # Web actions
//
// /api/v1/web/{namespace}/{package|default}/{action}[.ext] runs an action
// annotated web-export without a key, on behalf of (and paid by) the
// action's namespace, through the same cache, throttles and Controller as
// the API. The request becomes arguments (with the __ow_* context) and the
// result becomes the HTTP response; see web.go.
//
// # Caches
//
// Two caches keep the warm invocation path free of store round trips:
//
//   - Credentials: a successful Basic auth is remembered by its exact
//     Authorization header for Config.AuthCacheTTL (default 5 s). Failed
//     attempts are never cached. A revoked or replaced key therefore keeps
//     working on a gateway that saw it for at most that TTL.
//   - Actions: the action document, keyed by (namespace, package, name),
//     with its parameters pre-encoded for merging, for Config.ActionCacheTTL
//     (default 2 s), loaded once however many requests miss at the same
//     time, with its package's and binding's parameters merged in. A PUT or
//     DELETE through this gateway invalidates the entry at once (a write of
//     a package or of a packaged action: every entry, since bindings in any
//     namespace may cache it; a load racing with the write cannot re-insert
//     the old document); writes through other gateways become visible here
//     within the TTL. A NATS invalidation subject can later make that
//     immediate.
//   - Web action owners: a namespace's identity and limits, by name, for
//     Config.AuthCacheTTL.
//
// # Throttles
//
// Per namespace, OpenWhisk's two invocation throttles answer 429: invocations
// per fixed minute window and invocations in flight. Limits come from the
// namespace's store.Identity overrides, else Config. The in-flight count
// covers the gateway's call to the Controller (the whole run for blocking
// invocations, the hand-off for non-blocking ones); counts are per gateway
// process, as OpenWhisk's are per controller.
package gateway
