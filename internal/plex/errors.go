package plex

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error is an answer of Plex other than 2xx. The body is assumed to be
// {"code": "...", "message": "...", "errors": [{"field": "...", "message": "..."}]};
// a body of another shape leaves Code empty and puts the text in Message.
// No credential is ever part of it: the client removes any echo of them.
type Error struct {
	Status  int          // HTTP status
	Code    string       // Plex error code, when the body has one
	Message string       // human-readable message
	Fields  []FieldError // per-field problems of a 400 or 422
	// RetryAfter is the wait Plex asked for with a 429 or 503 (0 if none).
	RetryAfter time.Duration
	// Method and Route name the call, with the route as a template
	// ("/sales/v1/orders/{id}") so identifiers stay out of grouped logs.
	Method, Route string
}

// FieldError is one field-level problem reported by Plex.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plex: %s %s: %d", e.Method, e.Route, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	return b.String()
}

// Temporary reports whether the same call may succeed later (429, 5xx, 408).
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err is Plex's 404 for an unknown resource.
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == http.StatusNotFound
}

// IsAuth reports whether Plex refused the credentials or the tenant (401,
// 403), or the OAuth token could not be obtained: a person must fix the
// settings, repeating the call will not help.
func IsAuth(err error) bool {
	if errors.Is(err, ErrToken) {
		return true
	}
	e, ok := asError(err)
	return ok && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// IsRateLimited reports whether the call ended on Plex's 429 (the budget
// of calls per minute was spent) after the client's own retries.
func IsRateLimited(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == http.StatusTooManyRequests
}

// ErrToken wraps a failure to obtain an OAuth access token.
var ErrToken = errors.New("plex: oauth token")
