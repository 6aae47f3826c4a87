package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/gust-faas/gust/client"
)

// The CLI reports errors as wsk does: "error: <message>", sometimes a hint
// at --help, and wsk's exit statuses.

// failure is an error the CLI reports, with its exit status.
type failure struct {
	msg    string
	code   int
	usage  bool // point at --help
	silent bool // already reported
}

func (f *failure) Error() string { return f.msg }

// Exit statuses, as wsk's.
const (
	exitGeneral  = 1
	exitUsage    = 2
	exitNetwork  = 3
	exitTimedOut = 202
)

// usageFailure is a bad command line.
func usageFailure(format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...), code: exitUsage, usage: true}
}

// checkArgs checks the number of positional arguments as wsk does.
func checkArgs(in *input, minArgs, maxArgs int, required string) error {
	switch {
	case len(in.args) < minArgs:
		return &failure{msg: "Invalid argument(s). " + required, code: exitGeneral, usage: true}
	case len(in.args) > maxArgs:
		return &failure{msg: "Invalid argument(s): " + strings.Join(in.args[maxArgs:], ", ") + ". " + required, code: exitGeneral, usage: true}
	}
	return nil
}

// apiFailure wraps a client error under a message such as
// "Unable to get action 'hello'", with the exit status wsk gives it.
func apiFailure(err error, usage bool, format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...) + ": " + errText(err), code: exitCode(err), usage: usage}
}

func exitCode(err error) int {
	var ae *client.APIError
	switch {
	case errors.As(err, &ae):
		if ae.Status > 256 {
			return ae.Status - 256
		}
		return exitGeneral
	case errors.Is(err, client.ErrBadConfig), errors.Is(err, client.ErrBadName):
		return exitGeneral
	case isNetworkError(err):
		return exitNetwork
	}
	return exitGeneral
}

func isNetworkError(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.ErrUnexpectedEOF)
}

func errText(err error) string {
	msg := err.Error()
	if errors.Is(err, syscall.ECONNREFUSED) {
		msg += " (is Gust running? 'gust up' starts it on this machine)"
	}
	return msg
}

// usageError is a command line the parser rejects. A plain one is worded
// and printed as pflag's errors are in wsk: without "error: ".
type usageError struct {
	msg   string
	plain bool
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func flagErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), plain: true}
}
