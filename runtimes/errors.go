package runtimes

import "errors"

// Sentinel errors. Callers wrap them with detail and test with errors.Is.
var (
	// ErrInit is returned by Client.Init when the proxy answered /init with
	// an error: the code could not be loaded (bad archive, syntax error,
	// missing main, launcher crash) or the proxy was initialized before.
	// The wrapped message is the proxy's "error" text.
	ErrInit = errors.New("action initialization failed")
	// ErrCompile is returned by CompileGo when the Go code does not build;
	// the message holds the compiler's output.
	ErrCompile = errors.New("action compilation failed")
	// ErrBadKind is returned by Serve for a kind it cannot run.
	ErrBadKind = errors.New("unsupported runtime kind")
	// ErrBadArchive reports an action archive the proxy refuses to unpack:
	// entries escaping the directory, links, too many files or bytes.
	ErrBadArchive = errors.New("invalid action archive")
	// ErrProtocol reports a malformed HTTP exchange with a proxy.
	ErrProtocol = errors.New("runtime protocol error")
	// ErrClosed is returned by a Client after Close.
	ErrClosed = errors.New("runtime client closed")
)
