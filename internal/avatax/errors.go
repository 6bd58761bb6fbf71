package avatax

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a failed call by what the caller should do about it.
type Kind int

const (
	// KindTransient failures (429, 5xx, timeouts, connection errors) may
	// succeed if the same call is made again later.
	KindTransient Kind = iota + 1
	// KindData failures are caused by the request's content (an invalid
	// address, a missing line, a bad tax code): fix the data, then retry.
	KindData
	// KindAuth failures mean the credentials or account are wrong.
	KindAuth
	// KindNotFound means the document or company does not exist.
	KindNotFound
	// KindConflict means the document is in a state that refuses the
	// operation (already committed, cancelled, locked).
	KindConflict
)

func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindData:
		return "data"
	case KindAuth:
		return "auth"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	}
	return "unknown"
}

// Error is a failed AvaTax call. It carries AvaTax's error code, message and
// details, never the credentials.
type Error struct {
	Op         string // client operation, e.g. "createoradjust"
	StatusCode int    // HTTP status; 0 when no answer arrived
	Code       string // AvaTax error.code, e.g. "EntityNotFoundError"
	Message    string
	Target     string
	Details    []ErrorDetail
	RetryAfter string // Retry-After header of a 429 or 503, as sent
	Err        error  // underlying transport error, if any
}

func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("avatax %s: %v", e.Op, e.Err)
	}
	msg := e.Message
	if len(e.Details) > 0 && e.Details[0].Description != "" && e.Details[0].Description != msg {
		msg += " (" + e.Details[0].Description + ")"
	}
	if e.Code == "" {
		return fmt.Sprintf("avatax %s: HTTP %d", e.Op, e.StatusCode)
	}
	return fmt.Sprintf("avatax %s: HTTP %d %s: %s", e.Op, e.StatusCode, e.Code, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Kind tells how the failure should be handled.
func (e *Error) Kind() Kind {
	switch {
	case e.StatusCode == 0, e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode == http.StatusRequestTimeout, e.StatusCode >= 500:
		return KindTransient
	case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		return KindAuth
	case e.StatusCode == http.StatusNotFound:
		return KindNotFound
	}
	switch e.Code {
	case "TransactionAlreadyCancelled", "CannotModifyLockedTransaction", "TransactionIsCommitted",
		"InvalidDocumentStatusForRefund", "InvalidDocumentStatus", "DocumentCodeConflict":
		return KindConflict
	case "TimeoutRequested":
		return KindTransient
	}
	if e.HasSubCode("DocStatusError") {
		return KindConflict
	}
	return KindData
}

// HasSubCode reports whether any detail carries the legacy fault sub-code.
func (e *Error) HasSubCode(sub string) bool {
	for _, d := range e.Details {
		if d.FaultSubCode == sub {
			return true
		}
	}
	return false
}

// KindOf returns the Kind of an error returned by the client, KindTransient
// for context deadlines and transport errors, and 0 for nil.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind()
	}
	return KindTransient
}

// IsNotFound reports whether err says the document or company does not exist.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }
