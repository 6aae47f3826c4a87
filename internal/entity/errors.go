package entity

import (
	"errors"
	"fmt"
)

var (
	// ErrCircular: a binding chain leads back on itself or is longer than
	// MaxBindingDepth.
	ErrCircular = errors.New("package binding is circular")
	// ErrNotShared: a binding points at a package of another namespace that
	// is not public.
	ErrNotShared = errors.New("package is not shared")
)

// ChainError is why the binding chain of package Named cannot be followed
// to package Bound: Err is ErrCircular, ErrNotShared or the Loader's error
// reading Bound.
type ChainError struct {
	Named Ref // the package or binding resolution started from
	Via   Ref // the package Named binds: the chain's first link
	Bound Ref // the package the chain broke at
	// Shared: Bound is of another namespace than the binding that points
	// at it.
	Shared bool
	Err    error
}

func (e *ChainError) Error() string {
	switch e.Err {
	case ErrCircular:
		return fmt.Sprintf("package binding /%s is circular", e.Named)
	case ErrNotShared:
		return fmt.Sprintf("package /%s is not shared", e.Bound)
	}
	return fmt.Sprintf("package binding /%s: %v", e.Named, e.Err)
}

func (e *ChainError) Unwrap() error { return e.Err }
