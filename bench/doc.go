// Package bench is `gust bench`: Gust's benchmark suite. It drives load at a
// Gust (or any OpenWhisk) API host through the REST API, the way users call
// it, and reports latency percentiles, throughput, errors and cold starts
// for a set of scenarios:
//
//	warm        one client, blocking no-op invocations of one warm action;
//	            then the same spaced, one call 10 ms after each answer
//	throughput  N clients (default 8 and 32) on one action
//	cold        first invocation of new actions, per runtime kind
//	prewarm     first invocation of new actions served by stem cells
//	            (gust up --prewarm; --prewarm-memory must match), per kind
//	many        100 distinct actions, round-robin, 8 clients; then the same
//	            in alternating windows with the throughput scenario's
//	            single action, whose ratio the target is checked on. Each
//	            phase measures --many-duration (20 s): each of 100 actions
//	            gets a hundredth of the calls, so its runtime takes a hundred
//	            times longer than one action's to settle, and a ratio of two
//	            rates on a shared machine needs more of each than 5 s gives
//	burst       64 clients at once on an action with no warm sandbox
//	mixed       a long mixed load: several kinds, blocking and not,
//	            record reads and action updates; checks no async activation
//	            is lost
//	resume      calls to an action whose sandbox was paused, each after
//	            waiting past the host's idle grace (--idle-grace, passed
//	            to a started gust up)
//	density     --density python actions invoked once and left to pause:
//	            the PSS of every process of each sandbox
//	            (/proc/<pid>/smaps_rollup; each child of the started gust up
//	            is a sandbox), the host's MemAvailable drop, and the warm
//	            latency of another action before and after
//
// mixed, resume and density are not run by default. The targets (cold p50
// per kind, stem cell and resume p50, density) are checked in report.go.
//
// Every run also measures the floor on the same machine: a raw HTTP round
// trip to a trivial Go server, a raw NATS request-reply on an embedded
// nats-server, a direct run on a warm runtime (the launcher's pipes, as the
// invoker runs it), and the cold start of a bare runtime proxy per kind.
// Results are shown as ratios to that floor. The spaced warm calls have a
// floor of their own, the raw HTTP round trip with the same pause: a call
// to a machine gone idle costs more than one back to back (on our VMs,
// whose idle CPUs halt without polling, several times more), and that is
// the machine's, not the platform's.
//
// By default the tool starts `gust up` as a child process of the gust binary
// (so the load generator is a separate process, as for real users) on free
// ports with a temporary data directory; --apihost and --auth point it at
// any running API host instead.
//
// The load generator is a lean HTTP/1.1 client on keep-alive connections
// with prebuilt requests, one goroutine and connection per client and no
// shared state on the request path, so it costs a small fraction of what
// the platform under test does (the floor section measures its capacity).
//
// Output: tables on stdout, a progress bar on stderr (plain periodic lines
// when stderr is not a terminal), JSON (--json), SVG plots (--plots) and
// an update of a RESULTS.md file (--record).
//
// One run's verdict on a shared machine is a sample. --repeat N runs the
// selection N times, each against a fresh gust up, prints each run's
// targets, and ends with each target's pass count and the median and range
// of its number; --json, --plots and --record take the last run, and the
// recorded run line carries the spread.
package bench
