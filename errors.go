package ronghe

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one RFC 9457 problem type, so a
// caller in any layer can decide what to tell the user without parsing text.
const (
	ECONFLICT     = "conflict"     // the request contradicts stored state (409)
	EINTERNAL     = "internal"     // a fault of the platform, not the caller (500)
	EINVALID      = "invalid"      // the request is malformed or breaks a rule (400)
	ENOTFOUND     = "not_found"    // no such object visible to the caller (404)
	EUNAUTHORIZED = "unauthorized" // the caller is not authenticated (401)
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed (403)
	ETOOLARGE     = "too_large"    // over a size limit or quota (413)
	EUNSUPPORTED  = "unsupported"  // an unknown version, suite or media type (415)
	EINTEGRITY    = "integrity"    // a digest, size or signature does not check out (422)
	ERATELIMIT    = "rate_limited" // too many requests for the caller's quota (429)
	EUNAVAILABLE  = "unavailable"  // a dependency is down; the caller may retry (503)
	EEXPIRED      = "expired"      // a certificate, key or authorization is no longer valid (403)
)

// Error is the platform's error type: a machine-readable code, a message safe to
// show the caller, and an optional wrapped cause kept for logs only.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is written for the person on the other side; it never contains
	// another tenant's data or internal details.
	Message string
	// Err is the underlying cause, logged but never sent to the caller.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause so errors.Is and errors.As see through an Error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message. A %w verb
// in format wraps its argument as the cause.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// WrapError returns an *Error with the given code and message that wraps cause.
func WrapError(code string, cause error, message string) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first *Error in err's chain,
// or a generic text for any other error so that internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
