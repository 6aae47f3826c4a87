package controller

import "errors"

// Sentinel errors of the controller. Callers wrap them with detail and test
// them with errors.Is; the gateway maps them to HTTP statuses in one place.
var (
	// ErrStillRunning means a blocking invocation's wait elapsed before the
	// invoker answered: the activation still runs, and its record will be
	// stored under its activation id (the gateway answers 202).
	ErrStillRunning = errors.New("activation still running")
	// ErrNoInvokers means no invoker is alive to take the activation.
	ErrNoInvokers = errors.New("no invokers available")
	// ErrOverloaded means every alive invoker is full and the activation
	// was not placed.
	ErrOverloaded = errors.New("system overloaded")
	// ErrNoStore means the controller was built without Deps.Store and was
	// asked for what needs one: a sequence or conductor action, a trigger
	// fire, an alarms feed.
	ErrNoStore = errors.New("controller has no store")
)
