package data

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Error is the error returned for every bad input: a file (or data set name)
// and a one-line message naming the position or field at fault and what was
// expected, e.g.
//
//	train.csv: line 3, column 5: "abc" is not a number
//
// Err, when set, is the underlying cause (an *fs.PathError, a gzip or zip
// error) so callers can still use errors.Is on it.
type Error struct {
	File string // file path or data set name, as given by the caller
	Msg  string // position and problem, one line
	Err  error  // underlying cause, or nil
}

// Error returns "File: Msg" on one line.
func (e *Error) Error() string {
	return e.File + ": " + e.Msg
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error for file name. Newlines are folded into spaces
// because the message is meant for a single terminal line.
func errorf(name, format string, args ...any) error {
	return &Error{File: name, Msg: oneLine(fmt.Sprintf(format, args...))}
}

// wrapErr builds an *Error for name around an underlying error, stripping a
// duplicate "open path:" prefix from *fs.PathError so the path appears once.
func wrapErr(name string, err error) error {
	var de *Error
	if errors.As(err, &de) {
		return err // already names its file
	}
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Op + ": " + pe.Err.Error()
	}
	return &Error{File: name, Msg: oneLine(msg), Err: err}
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// clip shortens a user-supplied cell for an error message so a binary file
// misread as text does not flood the terminal.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
