// Package invoker runs activations on one machine: it takes
// ActivationMessages from NATS, owns the pool of sandboxes, drives the
// runtime proxy in each (/init, /run), collects logs, enforces time limits
// and writes activation records.
//
// # Work in
//
//   - Blocking activations arrive by core request-reply on
//     bus.Subjects.Invoke(ID). The reply, a bus.Result with the finished
//     record, goes out as soon as the result and its logs are known; the
//     record is then written to the store by the recorder, off the critical
//     path, in batches (BatchPutter when the store has it).
//   - Asynchronous activations are pulled from the durable consumer
//     bus.AsyncConsumer of the JetStream work queue bus.AsyncStream (created
//     if missing), only while async slots (Config.MaxAsync) and memory are
//     free. Long runs renew the ack wait with InProgress; the message is
//     acked only after its record is durably written, so an invoker that
//     dies mid-run leaves it to be redelivered; a redelivered activation
//     whose record exists is acked without running again. Activations that
//     found no capacity or were cut by shutdown go back (Nak).
//   - A bus.Heartbeat goes out every bus.HeartbeatInterval with the free
//     memory and the warm action revisions.
//
// # Pool policy
//
// Sandboxes are keyed by (invoking namespace, action, revision); memory is
// the admission currency: every sandbox, busy, idle, paused or prewarmed,
// costs its memory limit against Config.MemoryMB. An activation takes, in
// order: a warm idle sandbox of its key (a map lookup and a list pop under
// one mutex), a paused one (resumed), a prewarmed stem cell of its kind and
// memory (then /init), a new one, a new one after evicting the least
// recently used idle sandboxes (then stem cells); else it waits, FIFO, up to
// Config.QueueTimeout for memory (warm sandboxes of its key are granted to
// any waiter; memory strictly in arrival order). A fast action with several
// busy sandboxes, or with only busy ones while the invoker's CPUs are taken,
// first queues briefly for one of them (see queueMinBusy).
// An action starts at most a few sandboxes at once (scaleOutLocked: one per
// two cores for a fast one, two per core for a slow or new one); its other
// activations queue for them or for a release meanwhile, as starts are
// CPU-bound and more at once would bring none sooner. Idle sandboxes are paused
// after Config.IdleGrace (when the driver implements sandbox.Pauser) and
// destroyed after Config.IdleTimeout. Stem cells per (kind, memory) start at
// their configured counts and adapt every Config.PrewarmWindow: one more
// after a window with cold starts, one fewer after a window in which none
// was used. A sandbox whose processes died, that timed out, or that failed a
// run with a developer error is destroyed and never reused. Node.js actions
// with limits.concurrency > 1 share a sandbox among that many activations
// (the proxy gets __OW_ALLOW_CONCURRENT=true); their logs cannot be told
// apart and are not recorded, as in OpenWhisk.
//
// # Records
//
// A reply bigger than NATS's max payload (a record with megabytes of logs
// on a server left at the 1 MB default) leaves the logs out; if the result
// alone is too big, the record is written first and the reply carries it
// without the result, Result.Error saying to read the store.
//
// Each activation gets OpenWhisk's record: the invoking namespace, status
// code and response, logs (stamped "<RFC3339Nano UTC> stdout: msg", at most
// limits.logs MB, then OpenWhisk's truncation notice), and the annotations
// path, waitTime (from the controller's receipt to the start of /init or
// /run), kind, timeout, limits, initTime (cold and prewarmed starts) and
// whisk.AnnStart (warm, resumed, prewarmed or cold), then the message's.
// A timed-out activation's sandbox is destroyed (its whole process tree)
// and its result is {"error": whisk.TimeoutMessage(ms)}.
//
// # Goroutines
//
// Run owns: the janitor (pool housekeeping), the heartbeat ticker, the async
// fetch loop, the recorder's writers, and one goroutine per activation,
// admitted by Invoker.acts (a gate the drain closes before waiting, so no
// activation starts after it) with, for asynchronous ones, an InProgress
// ticker that runs until the message is acked or handed back (the
// recorder's callback stops it). The pool owns the goroutines starting stem
// cells and destroying dead idle sandboxes (pool.wg); each sandbox owns two
// log readers (logCollector), ended by destroying it. Run returns after all
// of them have ended.
//
// # Shutdown
//
// When Run's context ends the invoker stops its heartbeats, drains its
// invoke subscription (requests already delivered still run; later ones get
// "no responders" and the controller places them elsewhere), stops pulling
// from JetStream, and waits up to DrainTimeout for the activations in
// flight. Then it cancels the rest, destroys every sandbox, writes the
// pending records and returns.
//
// # Locks
//
// Lock order: pool.mu, then logCollector.mu; codeCache.mu and the
// recorder's channel are leaves. No lock is held across a call into a
// sandbox, the runtime proxy, the store or NATS: the pool decides under
// pool.mu and acts (create, resume, pause, destroy) after unlocking. The
// container fields marked "guarded by pool.mu" are only touched under it;
// the others are set before a container is shared and read-only afterwards.
package invoker
