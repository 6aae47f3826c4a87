// Package controller places activations on invokers over NATS.
//
// A Controller keeps a registry of invokers from their heartbeats
// (bus.Heartbeat on Subjects.Heartbeat), places each blocking activation on
// one invoker and waits for its record, and persists each non-blocking
// activation in the JetStream work queue bus.AsyncStream before the gateway
// answers 202. It is a library the gateway embeds; `gust controller` runs it
// on its own.
//
// # Life cycle
//
//	ctl, err := controller.New(cfg, controller.Deps{NATS: nc, Logger: log})
//	go ctl.Run(ctx)     // stream, subscriptions, registry upkeep, until ctx ends
//	<-ctl.Ready()
//	rec, err := ctl.Invoke(ctx, msg, 60*time.Second)
//
// Run waits, retrying, until NATS and JetStream answer (the roles of a
// cluster start in any order), so select on Ready and on Run's return.
// Run owns the controller's one goroutine (the sweeper); the NATS client owns
// the two subscription goroutines (heartbeats, replies). Invoke and Invokers
// are safe for concurrent use.
//
// # Blocking invocations
//
// Invoke sends the ActivationMessage to the chosen invoker's subject
// (Subjects.Invoke(id)) with a reply subject under one wildcard inbox
// subscription the controller owns: a per-request subscription churns the
// server's subscription list on every call, and nats.go's request mux takes the
// connection's lock and a fresh channel per call and drops late replies.
// The controller's mux shards its pending table, pools its calls and timers,
// and keeps an abandoned call (wait elapsed, caller gone) until the invoker's
// late reply arrives, so the invoker's memory is released when it really is
// free. It is as fast as nc.Request (BenchmarkInvokeRoundTrip: equal within
// the noise of a shared 2-core machine, both ~40-50 µs per sequential round
// trip on TCP loopback); the late-reply accounting is why it exists.
//
// A reply carries the record (bus.Result). A "no responders" status means the
// invoker vanished between heartbeats: it is marked down at once and the
// activation goes to the next candidate (it never reached anyone, so this is
// safe). When the wait elapses the error wraps ErrStillRunning: the invoker
// still runs the activation and stores its record. With no alive invoker the
// error wraps ErrNoInvokers.
//
// # In-process invoker
//
// `gust up` runs the controller and an invoker in one process. Sending its
// activations through the embedded NATS server cost encoding the message,
// decoding it in the invoker, the same again for the record, and a few
// goroutine hand-offs: about 29% of the process's CPU under load. OpenWhisk's
// standalone mode skips its bus the same way (LeanBalancer calls the invoker
// instead of going through Kafka). With Deps.Local, when placement picks the
// invoker whose id is Local.ID(), Invoke calls Local.InvokeLocal on a
// goroutine and waits for it as for a reply: the same memory booking, the
// same wait (ErrStillRunning when it elapses, while the activation runs on
// and its booking is released when it really ends, the counterpart of the
// late-reply accounting), the same errors. An invoker that did not take the
// activation (draining, stopped) is marked down and the next candidate is
// tried, as after "no responders". The message is not encoded at all unless
// a remote invoker is picked. Everything else still goes over NATS:
// heartbeats, hence the registry and placement, non-blocking activations
// (JetStream), compositions' queue, and every other invoker.
//
// # Placement
//
// OpenWhisk hashes (namespace, action) to a home invoker and probes from it
// with a coprime step for the first healthy invoker with a free memory slot.
// The home gives an action a stable place to keep warm containers, but it
// is blind to where warm containers actually are, and a busy action spills
// onto invokers where it then runs cold. Gust picks, in order:
//
//  1. Warm affinity: the invoker this controller last sent the same action
//     revision to, if it is alive and has room. Heartbeats lag up to a second
//     and list only idle sandboxes, so this memory is the freshest knowledge
//     of where a warm (possibly busy, soon idle) sandbox lives.
//  2. An alive invoker with room whose last heartbeat lists a warm sandbox for
//     the revision (bus.WarmKey), probed in home order, so that actions placed
//     by other controllers, or before a restart, stay warm.
//  3. The home invoker by hash of (action namespace, action name) and then
//     the coprime probe, OpenWhisk's order: every controller computes the same
//     home from the same sorted invoker list, so their work meets the same
//     warm sandboxes. The revision is not hashed: a new revision lands where
//     the old one can be evicted.
//  4. Every alive invoker full: the least loaded alive one (most free memory),
//     force-placed. The invoker queues FIFO for memory, so a short burst is
//     absorbed without errors; OpenWhisk picks a random healthy invoker here,
//     which queues behind a busy one as often as not. Config.OverloadFactor
//     bounds the queue: beyond it Invoke fails with ErrOverloaded.
//
// Room is memory: each invoker advertises its user-memory budget (MemoryMB)
// and what is free (FreeMB). The controller counts the memory of activations
// it has sent and not yet seen answered (acquired at send, released at the
// reply, or at the action's timeout plus a grace for an abandoned wait), and
// reconciles at every heartbeat: memory busy at the invoker beyond this
// controller's own in-flight count belongs to others (other controllers,
// asynchronous work pulled from the stream) and is subtracted until the next
// heartbeat. An action with concurrency c costs memory/c per activation, as
// c activations share one sandbox.
//
// An invoker silent for Config.DeadAfter (bus.DeadAfter) gets no new work;
// liveness is checked at pick time against its last heartbeat, on the
// controller's monotonic clock, so no timer runs per invoker. An invoker
// silent for Config.ForgetAfter leaves the registry.
//
// The pick allocates nothing: the invoker list is an immutable snapshot
// behind an atomic pointer, rebuilt only when an invoker joins or leaves;
// per-invoker numbers are atomics; memory accounting is a compare-and-swap.
//
// # Non-blocking invocations
//
// Invoke publishes the message to Subjects.Async() with the activation id as
// JetStream message id (duplicates inside Config.AsyncDuplicates are stored
// once) and returns after the stream's acknowledgement, whether or not an
// invoker is alive: accepted work is on disk. Run creates the stream
// (work-queue retention, file storage, Config.AsyncMaxAge) if it does not
// exist, and accepts an existing one that covers the subject as a work queue.
//
// # Compositions: sequences and conductor actions
//
// Invoke runs an action of kind "sequence", or one annotated conductor:true,
// in the controller, with OpenWhisk's semantics, limits and messages
// (sequence.go, conductor.go). Every step is an ordinary blocking
// activation placed as above, its input merged over the component's
// parameters, with cause = the composition's activation id and the
// annotation causedBy:"sequence". A sequence passes each result on as the
// next input and stops at the first error; nested sequences and conductors
// run inline with records of their own. Limits: 50 atomic actions per
// sequence, nested ones inlined; 50 components and 101 conductor
// activations per composition. Components are read from Deps.Store through
// their package or binding and cached for Config.ComponentCacheTTL; one
// deleted after the gateway checked the sequence, or now making it too long
// or cyclic, ends it with an application error record.
//
// The controller writes the composition's record: kind sequence, logs =
// the step activation ids, topmost on the outermost, limits.memory the
// largest of its steps, conductor:true for a conductor's. A blocking
// caller gets it at once (it is written off the critical path).
//
// Nothing accepted is lost. Step n of composition X has the activation id
// stepID(X, n), the first 128 bits of SHA-256("X/n"): whoever continues a
// composition finds the steps recorded before and does not run them again.
// A non-blocking composition is persisted in the JetStream work queue
// bus.ComposeStream (Subjects.Compose) before Invoke returns; every
// controller with a store pulls from the durable consumer
// bus.ComposeConsumer (up to Config.ComposeConcurrency at once), runs it,
// and acks once its record is stored, renewing the ack wait while it runs.
// A blocking one runs in the caller's goroutine; when its wait elapses,
// when no invoker is left after a step ran, or when the controller stops,
// it goes to the queue naming the step still running
// (bus.ComposeMessage.Running), whose record the next attempt awaits before
// running it again, and the caller gets an error wrapping ErrStillRunning.
// A queued composition that finds no invoker goes back with a growing
// delay, so it waits for invokers as long as the stream keeps it
// (Config.AsyncMaxAge); a blocking one that finds none before its first
// step fails with ErrNoInvokers, as an atomic action does.
//
// # Triggers and rules
//
// Fire (fire.go) fires a trigger for the gateway and for the alarm
// scheduler: it reads the trigger and the rules naming it (Gust keeps a
// rule's status in the rule's document, whisk.Rule; a fire lists the
// namespace's rules), and when at least one is active invokes each active
// rule's action through Invoke, non-blocking, with the trigger's parameters
// overridden by the payload and the trigger activation's id as cause. Every
// activation is persisted (the async or compose stream) and then the
// trigger's record is stored, before Fire returns. The record's logs hold
// one JSON entry per rule, as OpenWhisk's do: {"statusCode", "success",
// "activationId" or "error", "rule", "action"}; an inactive rule, or an
// action that is gone, forbidden or refuses the arguments, is an entry with
// success false. Rule activation ids derive from the trigger activation's
// (RuleActivationID), so a fire retried with the same id runs nothing twice
// (the stream's deduplication window, then the store's first-write-wins).
//
// # Alarms
//
// The feed actions of /whisk.system/alarms (alarm: cron and timezone;
// interval: minutes, or seconds in Gust; once: date and deleteAfterFire)
// have kind whisk.KindBuiltin: Invoke runs them here (alarms_feed.go)
// instead of placing them, on any controller, and stores their records.
// They serve wsk's feed lifecycle, CREATE, READ, UPDATE, DELETE, PAUSE and
// UNPAUSE, on a trigger of the caller's namespace, with OpenWhisk's
// parameters and messages; bad parameters (a malformed cron) are an
// application error {"error", "statusCode": 400}, so the CLI deletes the
// trigger again. The caller's authKey is not needed, nor kept: the
// controller fires on the namespace's behalf (alarm-fired actions get no
// __OW_API_KEY).
//
// Alarms live in the JetStream key-value bucket GUST_ALARMS (one
// alarmSpec per trigger). One controller at a time fires them, the leader:
// the holder of key "alarms" in bucket GUST_LEADER, whose values expire
// after Config.AlarmLeaseTTL. A controller becomes leader by creating the
// key (which fails while it exists), renews it every quarter TTL with a
// compare-and-set on its revision, and fires only while its last renewal is
// less than three quarters of a TTL old; a stopping leader deletes it, so
// a follower (watching the key) takes over at once, and one that dies is
// replaced within a TTL and a quarter. The leader watches GUST_ALARMS,
// keeps the alarms in a heap by next fire, and fires each due alarm
// through Fire with a trigger activation id derived from the alarm's
// generation and scheduled time (alarmFireID). After each fire it records
// the alarm's progress in GUST_ALARM_FIRES (the scheduled time and the time
// the schedule is done up to). A new leader (after a restart or a
// takeover) resumes from there: a missed period is fired once, for its
// latest due time, and the first fire of each alarm is looked up in the
// store first, so a fire the previous leader made without recording its
// progress is not made again. So nothing is fired twice, and nothing is
// missed beyond one period. A fire whose trigger is gone deletes the
// alarm; a failed fire is retried with the same id after a growing delay.
package controller
