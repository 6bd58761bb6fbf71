package avatax_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	sub := []avatax.ErrorDetail{{FaultSubCode: "DocStatusError"}}
	tests := []struct {
		name string
		err  error
		want avatax.Kind
	}{
		{"nil", nil, 0},
		{"plain error", errors.New("boom"), avatax.KindTransient},
		{"context", context.DeadlineExceeded, avatax.KindTransient},
		{"no answer", &avatax.Error{Op: "get", Err: errors.New("dial")}, avatax.KindTransient},
		{"429", &avatax.Error{StatusCode: 429, Code: "RequestLimitExceeded"}, avatax.KindTransient},
		{"408", &avatax.Error{StatusCode: 408}, avatax.KindTransient},
		{"500", &avatax.Error{StatusCode: 500, Code: "InternalServerError"}, avatax.KindTransient},
		{"503", &avatax.Error{StatusCode: 503}, avatax.KindTransient},
		{"400 ForceTimeout", &avatax.Error{StatusCode: 400, Code: "TimeoutRequested"}, avatax.KindTransient},
		{"401", &avatax.Error{StatusCode: 401, Code: "AuthenticationException"}, avatax.KindAuth},
		{"403", &avatax.Error{StatusCode: 403}, avatax.KindAuth},
		{"400 NoDefaultCompany", &avatax.Error{StatusCode: 400, Code: "NoDefaultCompany"}, avatax.KindAuth},
		{"404 bare (route miss)", &avatax.Error{StatusCode: 404, Message: "Not Found"}, avatax.KindAuth},
		{"404 entity", &avatax.Error{StatusCode: 404, Code: "EntityNotFoundError"}, avatax.KindNotFound},
		{"409", &avatax.Error{StatusCode: 409}, avatax.KindConflict},
		{"locked", &avatax.Error{StatusCode: 400, Code: "CannotModifyLockedTransaction"}, avatax.KindConflict},
		{"cancelled", &avatax.Error{StatusCode: 400, Code: "TransactionAlreadyCancelled"}, avatax.KindConflict},
		{"committed code", &avatax.Error{StatusCode: 400, Code: "GetTaxError", Details: sub}, avatax.KindConflict},
		{"refund status", &avatax.Error{StatusCode: 400, Code: "InvalidDocumentStatusForRefund"}, avatax.KindConflict},
		{"address", &avatax.Error{StatusCode: 400, Code: "InvalidAddress"}, avatax.KindData},
		{"refund lines", &avatax.Error{StatusCode: 400, Code: "RefundLinesRequired"}, avatax.KindData},
		{"wrapped", fmt.Errorf("order 7: %w", &avatax.Error{StatusCode: 404, Code: "EntityNotFoundError"}), avatax.KindNotFound},
	}
	for _, tt := range tests {
		if got := avatax.KindOf(tt.err); got != tt.want {
			t.Errorf("%s: KindOf = %s, want %s", tt.name, got, tt.want)
		}
	}
	if !avatax.IsNotFound(&avatax.Error{StatusCode: 404, Code: "EntityNotFoundError"}) {
		t.Error("IsNotFound")
	}
}

// TestErrorExposesAvaTaxFields: code, message, target, details, help link
// and correlation id of AvaTax's error envelope reach the caller.
func TestErrorExposesAvaTaxFields(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { fail(w, 400, "InvalidAddress") })
	_, err := f.client().CreateOrAdjust(context.Background(), saleModel("SO-10"))
	var ae *avatax.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err %T %v", err, err)
	}
	if ae.Op != "createoradjust" || ae.StatusCode != 400 || ae.Code != "InvalidAddress" || ae.Message != "InvalidAddress happened." ||
		ae.Target != "HttpRequest" || len(ae.Details) != 1 || ae.Details[0].Description == "" ||
		ae.HelpLink() != "http://developer.avalara.com/avatax/errors/InvalidAddress" || ae.CorrelationID != "corr-InvalidAddress" {
		t.Fatalf("error fields %+v", ae)
	}
	want := "avatax createoradjust: HTTP 400 InvalidAddress: InvalidAddress happened. (InvalidAddress happened. (details))"
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestRetryAfterDelay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v  string
		ok bool
	}{{"", false}, {"3", true}, {"-1", false}, {"soon", false}} {
		d, ok := (&avatax.Error{RetryAfter: tt.v}).RetryAfterDelay()
		if ok != tt.ok || (tt.ok && d != 3e9) {
			t.Errorf("RetryAfterDelay(%q) = %s %v", tt.v, d, ok)
		}
	}
	past := (&avatax.Error{RetryAfter: "Mon, 02 Jan 2006 15:04:05 GMT"})
	if d, ok := past.RetryAfterDelay(); !ok || d != 0 {
		t.Errorf("past date: %s %v", d, ok)
	}
}
