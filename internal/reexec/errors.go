package reexec

import "errors"

// Sentinel errors of Check and Sandbox.
var (
	// ErrNotSandbox reports a file that cannot serve as the sandbox binary:
	// missing, not an executable regular file, more writable than this
	// binary, not answering the identity handshake, or without an entry
	// point it must hold.
	ErrNotSandbox = errors.New("not a usable sandbox binary")
	// ErrSkew reports a sandbox binary that was not built from the same
	// sources as this binary (or one of them has no build identity).
	ErrSkew = errors.New("the sandbox binary was not built with this binary")
)
