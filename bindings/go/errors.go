package clv

/*
#include <clv/clv.h>
*/
import "C"

import "fmt"

// Status is a libclv status code. The non-zero codes are also the sentinel
// errors below, for errors.Is.
type Status int32

// Sentinel errors, one per libclv status code (values fixed by libclv).
const (
	ErrInvalid  Status = C.CLV_EINVAL    // invalid argument: nil, zero or overflowing size, NaN/Inf input
	ErrNoMemory Status = C.CLV_ENOMEM    // out of memory
	ErrIO       Status = C.CLV_EIO       // I/O failure
	ErrFormat   Status = C.CLV_EFORMAT   // malformed file or record
	ErrShape    Status = C.CLV_ESHAPE    // shapes (slice lengths) do not agree
	ErrState    Status = C.CLV_ESTATE    // call made in the wrong order, or after Close
	ErrNotSup   Status = C.CLV_ENOTSUP   // not supported by this build or configuration
	ErrNumeric  Status = C.CLV_ENUMERIC  // NaN or Inf arose in a loss, gradient or update
	ErrCanceled Status = C.CLV_ECANCELED // stopped by the caller (context or callback)
)

// Error returns libclv's static name of the status ("CLV_EINVAL: invalid argument").
func (s Status) Error() string { return C.GoString(C.clv_status_str(C.int(s))) }

// Error is a failed libclv call: the status (the contract) and libclv's
// message for humans (what and where).
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "clv: " + e.Status.Error()
	}
	return "clv: " + e.Message + " (" + e.Status.Error() + ")"
}

// Unwrap makes errors.Is(err, clv.ErrInvalid) and friends work.
func (e *Error) Unwrap() error { return e.Status }

// errorf builds an error found by the binding itself (a slice of the wrong
// length, a closed handle) before any C call.
func errorf(s Status, format string, args ...any) error {
	return &Error{Status: s, Message: fmt.Sprintf(format, args...)}
}

func closedError(what string) error {
	return errorf(ErrState, "%s used after Close", what)
}
