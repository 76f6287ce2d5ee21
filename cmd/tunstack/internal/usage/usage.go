// Package usage holds the errors that tell a user to run tunstack
// differently. A usage error is a command line that cannot work, as
// opposed to a command that ran and failed: tunstack prints either as one
// line, and exits 2 for a usage error, 1 for a failure. The packages that
// check flags return usage errors; package main picks the exit code.
// RunAsRoot says how to get a privilege a command lacks.
//
// It prints nothing and knows no flags.
package usage

import (
	"errors"
	"fmt"
)

// Error is a command line that cannot work: the user must change it.
type Error struct{ err error }

func (e *Error) Error() string { return e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

// Errorf formats a usage error, as fmt.Errorf does.
func Errorf(format string, args ...any) error {
	return &Error{fmt.Errorf(format, args...)}
}

// Wrap makes err a usage error; nil stays nil.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{err}
}

// Is reports whether err, or an error it wraps, is a usage error.
func Is(err error) bool {
	var u *Error
	return errors.As(err, &u)
}

// ErrNeedNetAdmin is the one line a user sees without the privileges to
// create a TUN device.
var ErrNeedNetAdmin = errors.New("creating TUN device needs CAP_NET_ADMIN")

// RunAsRoot says how to get the privileges err is about: "ERR: run as
// root (sudo COMMAND)". It is not a usage error: the command line is
// right, its user lacks a privilege.
func RunAsRoot(err error, command string) error {
	return fmt.Errorf("%w: run as root (sudo %s)", err, command)
}
