package invoker

import "errors"

// Sentinel errors of the invoker. Activations that fail with one of them are
// recorded as whisk internal errors (the platform's fault, not the action's);
// bus.Result.Error carries the message.
var (
	// ErrConfig reports an invalid Config or missing Deps.
	ErrConfig = errors.New("invalid invoker configuration")
	// ErrNoCapacity means the activation waited Config.QueueTimeout for
	// memory and none came free. Asynchronous activations are redelivered.
	ErrNoCapacity = errors.New("invoker has no capacity")
	// ErrTooBig means the action asks for more memory than the invoker's
	// whole budget; it can never run here.
	ErrTooBig = errors.New("action memory exceeds the invoker's budget")
	// ErrShuttingDown means the invoker stopped before the activation ran
	// (or finished). Asynchronous activations are redelivered.
	ErrShuttingDown = errors.New("invoker is shutting down")
	// ErrBadMessage reports an ActivationMessage the invoker cannot run.
	ErrBadMessage = errors.New("invalid activation message")
	// ErrSandbox reports a sandbox that could not be created or started.
	ErrSandbox = errors.New("sandbox failure")
	// ErrCode reports action code that could not be loaded from the store.
	ErrCode = errors.New("action code unavailable")
	// ErrAlreadyRunning is returned by a second call of Run.
	ErrAlreadyRunning = errors.New("invoker already running")
)

// retryable reports whether an asynchronous activation that failed with err
// should go back to JetStream for another invoker (or a later try) instead
// of being recorded as failed.
func retryable(err error) bool {
	return errors.Is(err, ErrNoCapacity) || errors.Is(err, ErrShuttingDown)
}
