package avatax

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/retryafter"
)

// Kind classifies a failed call by what the caller should do about it.
type Kind int

const (
	// KindTransient failures (429, 5xx, 408, timeouts, connection errors)
	// may succeed if the same call is made again later.
	KindTransient Kind = iota + 1
	// KindData failures are caused by the request's content (an invalid
	// address, a missing line, a bad tax code): fix the data, then retry.
	KindData
	// KindAuth failures mean the credentials, the account or the client's
	// configuration (base URL, company) are wrong: a person must fix the
	// settings; repeating the call will not help.
	KindAuth
	// KindNotFound means the document or company does not exist.
	KindNotFound
	// KindConflict means the document is in a state that refuses the
	// operation (already committed, cancelled, locked).
	KindConflict
)

// String names the kind in logs and error codes: "transient", "data",
// "auth", "not_found", "conflict".
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

// AvaTax error codes the classification relies on, by kind. The HTTP
// status decides first (see (*Error).Kind); these refine a 4xx answer.
var (
	conflictCodes = map[string]bool{
		"TransactionAlreadyCancelled":    true, // 198
		"CannotModifyLockedTransaction":  true, // 1100
		"TransactionIsCommitted":         true, // 1313
		"InvalidDocumentStatusForRefund": true, // 700
		"InvalidDocumentStatus":          true, // 1314
		"InvalidDocumentStatusForVerify": true, // 1306
		"DocumentNotCommitted":           true, // 313
		"DocumentCodeConflict":           true, // 303
		"TransactionAlreadyExists":       true, // 1303
	}
	authCodes = map[string]bool{
		"AuthenticationException":  true, // 30
		"AuthorizationException":   true, // 31
		"AuthenticationIncomplete": true, // 34
		"BasicAuthIncorrect":       true, // 35
		"BearerTokenInvalid":       true, // 37
		"PermissionRequired":       true, // 49
		"NoDefaultCompany":         true, // 27
		"CompanyInvalidException":  true, // 3
	}
	transientCodes = map[string]bool{
		"TimeoutRequested":               true, // 316
		"ServiceTimeout":                 true, // 4015
		"ServerUnreachable":              true, // 500
		"InternalServerError":            true, // 209
		"RequestLimitExceeded":           true, // 1715
		"ConcurrentRequestLimitExceeded": true, // 1716
		"RateLimitExceededError":         true, // 1723
		"RateLimitExceeded":              true, // 4011
	}
)

// Error is a failed AvaTax call. It carries AvaTax's error code, message and
// details, never the credentials.
type Error struct {
	Op            string // client operation, e.g. "createoradjust"
	StatusCode    int    // HTTP status of the last answer; 0 when no answer arrived
	Code          string // AvaTax error.code, e.g. "EntityNotFoundError"
	Message       string // AvaTax error.message (or the start of a non-JSON body)
	Target        string // AvaTax error.target, e.g. "HttpRequestHeaders"
	Details       []ErrorDetail
	RetryAfter    string // Retry-After header of a 429 or 503, as sent
	CorrelationID string // x-correlation-id of the answer, for Avalara support
	Err           error  // underlying transport or context error, if any

	// Attempts is how many requests the call sent before it gave up
	// (1 when it was not repeated). Look-ups the client made to check
	// whether an earlier attempt had taken effect are not counted.
	Attempts int
	// Uncertain is set when an attempt of a call that is not safe to
	// repeat (Create, Refund without a refund code, or Commit, Void and
	// Refund whose check could not finish) failed after the request had
	// reached AvaTax: the call may have taken effect. Look the document
	// up before doing anything else.
	Uncertain bool

	kind Kind // overrides the classification when set
}

// Error describes the failure without credentials: operation, status,
// AvaTax code and message, and the attempt count when the call was repeated.
func (e *Error) Error() string { return "avatax " + e.Op + ": " + e.describe() }

// describe is Error without the operation.
func (e *Error) describe() string {
	var b strings.Builder
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.StatusCode == 0:
		b.WriteString(e.Message)
	default:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		msg := e.Message
		if len(e.Details) > 0 && e.Details[0].Description != "" && e.Details[0].Description != msg {
			msg += " (" + e.Details[0].Description + ")"
		}
		if msg != "" {
			b.WriteString(": " + msg)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Uncertain {
		b.WriteString(" (the call may have taken effect)")
	}
	return b.String()
}

// Unwrap returns the underlying transport or context error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Kind tells how the failure should be handled.
func (e *Error) Kind() Kind {
	if e.kind != 0 {
		return e.kind
	}
	s := e.StatusCode
	switch {
	case s == 0, s == http.StatusTooManyRequests, s == http.StatusRequestTimeout, s >= 500:
		return KindTransient
	case s == http.StatusUnauthorized, s == http.StatusForbidden, authCodes[e.Code]:
		return KindAuth
	case s == http.StatusNotFound && e.Code == "":
		// AvaTax answers unknown documents and companies with an
		// EntityNotFoundError envelope; a bare 404 is a route miss: a
		// wrong base URL or an empty company code.
		return KindAuth
	case s == http.StatusNotFound:
		return KindNotFound
	case s == http.StatusConflict, conflictCodes[e.Code], e.HasSubCode("DocStatusError"):
		return KindConflict
	case transientCodes[e.Code]:
		return KindTransient
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

// HelpLink returns the first detail's link to Avalara's page on the error,
// or "".
func (e *Error) HelpLink() string {
	for _, d := range e.Details {
		if d.HelpLink != "" {
			return d.HelpLink
		}
	}
	return ""
}

// RetryAfterDelay parses RetryAfter, given as seconds or as an HTTP date,
// into the wait AvaTax asked for. ok is false when there is none.
func (e *Error) RetryAfterDelay() (d time.Duration, ok bool) {
	return retryafter.Parse(e.RetryAfter, time.Now())
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

// AttemptsOf returns how many requests the call that returned err sent, or
// 0 when err is not a client error.
func AttemptsOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Attempts
	}
	return 0
}
