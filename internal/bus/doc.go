// Package bus defines every NATS subject and message that Gust's roles
// exchange. Messages are versioned JSON: a reader ignores fields it does not
// know, and V changes only when a field changes meaning.
//
// Subjects, under a configurable prefix (default "gust."):
//
//	<p>invoke.<invoker>   core request-reply: a blocking ActivationMessage to
//	                      one invoker; the reply is a Result.
//	<p>async              JetStream stream GUST_ASYNC (work queue): accepted
//	                      non-blocking ActivationMessages, persisted before the
//	                      gateway answers 202; every invoker pulls from one
//	                      durable consumer and acks after the record is stored.
//	<p>compose            JetStream stream GUST_COMPOSE (work queue): accepted
//	                      sequence and conductor invocations (ComposeMessage),
//	                      persisted before the gateway answers 202 (non-blocking,
//	                      or a blocking one whose wait elapsed mid-run); every
//	                      controller pulls from one durable consumer and acks
//	                      after the composition's record is stored.
//	<p>heartbeat          core publish: a Heartbeat from each invoker every
//	                      HeartbeatInterval.
//	<p>done.<controller>  core publish: a Result for a blocking activation whose
//	                      requester stopped waiting (also used by sequences).
package bus
