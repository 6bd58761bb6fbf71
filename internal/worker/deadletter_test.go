package worker_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/worker"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// unavailable answers AvaTax's createoradjust with 503 while down is set
// (address resolution still works, so the call gets as far as its intent).
type unavailable struct {
	next http.RoundTripper
	down atomic.Bool
}

func (u *unavailable) RoundTrip(r *http.Request) (*http.Response, error) {
	if u.down.Load() && strings.HasSuffix(r.URL.Path, "/createoradjust") {
		r.Header.Set(avataxsim.HeaderFault, "503")
	}
	return u.next.RoundTrip(r)
}

// TestDeadLettersAreAnswered: an event dead-lettered for any reason also
// yields a tax_error on the order's error subject, so the OMS learns the
// outcome; an event given up with its intent left puts the order on the
// sweep's list, and the sweep finishes the intent once AvaTax is back.
func TestDeadLettersAreAnswered(t *testing.T) {
	u := &unavailable{}
	u.down.Store(true)
	h := workertest.Start(t, workertest.WithMaxDeliver(2),
		workertest.WithRetry(avatax.RetryPolicy{MaxAttempts: 1}),
		workertest.WithTransport(func(next http.RoundTripper) http.RoundTripper { u.next = next; return u }))

	// Invalid: the refund names no return.
	bad := scenario.Returned("WEB-DL1")
	refund := bad.Events[len(bad.Events)-1]
	raw, _ := json.Marshal(refund)
	h.PublishRaw(bus.EventSubject(refund.Type, refund.Subject), []byte(strings.Replace(string(raw), `"return":`, `"no_return":`, 1)), "bad-refund")

	// Valid, but AvaTax is down for both deliveries.
	good := scenario.HomeDelivery("WEB-DL2")
	h.Publish(good.Events[0])
	h.Publish(good.Events[1])

	h.Eventually("two dead letters", func() bool { return len(h.Messages(bus.DLQStream, bus.DLQPrefix+">")) == 2 })
	h.Eventually("their tax errors", func() bool { return len(h.TaxErrors("WEB-DL1")) == 1 && len(h.TaxErrors("WEB-DL2")) == 1 })
	invalid, exhausted := h.TaxErrors("WEB-DL1")[0], h.TaxErrors("WEB-DL2")[0]
	if invalid.Code != worker.CodeInvalidEvent || invalid.Field != "/data" || invalid.CauseEventID != "bad-refund" ||
		!strings.Contains(invalid.Message, "return") {
		t.Errorf("invalid event's tax error %+v, want %s naming /data and the missing return", invalid, worker.CodeInvalidEvent)
	}
	if exhausted.Code != worker.CodeRetriesExhausted || exhausted.CauseEventID != good.Events[1].ID || exhausted.Action != events.RefreshOrderTaxes {
		t.Errorf("exhausted event's tax error %+v, want %s for %s", exhausted, worker.CodeRetriesExhausted, good.Events[1].ID)
	}

	// The refresh left its intent; nothing will deliver it again.
	if rec := h.Record("WEB-DL2"); rec.Intent == nil {
		t.Fatalf("record %+v: want the intent the given-up event left", rec)
	}
	orders, err := h.Unfinished.List(h.Ctx)
	if err != nil || len(orders) != 1 || orders[0] != "WEB-DL2" {
		t.Fatalf("sweep list %v, %v: want WEB-DL2", orders, err)
	}
	u.down.Store(false)
	stats, err := h.Worker.Sweep(h.Ctx)
	if err != nil || stats.Unfinished != 0 {
		t.Fatalf("sweep: %+v %v", stats, err)
	}
	if rec := h.Record("WEB-DL2"); rec.Intent != nil {
		t.Errorf("intent %+v left after the sweep", rec.Intent)
	}
	if orders, _ := h.Unfinished.List(h.Ctx); len(orders) != 0 {
		t.Errorf("sweep list %v after the sweep, want it empty", orders)
	}
}

// TestEventOnAnotherTypesSubjectIsRefused: an event whose type differs
// from the one its subject names (a refund published on the void subject)
// is dead-lettered as invalid, with a tax_error naming /type, and does
// nothing to the order.
func TestEventOnAnotherTypesSubjectIsRefused(t *testing.T) {
	h := workertest.Start(t)
	f := scenario.Returned("WEB-ST")
	refund := f.Events[len(f.Events)-1]
	raw, _ := json.Marshal(refund)
	h.PublishRaw(bus.EventSubject(events.VoidOrderTaxes, refund.Subject), raw, "misrouted")
	h.Eventually("the tax error", func() bool { return len(h.TaxErrors(refund.Subject)) == 1 })
	got := h.TaxErrors(refund.Subject)[0]
	if got.Code != worker.CodeInvalidEvent || got.Field != "/type" {
		t.Errorf("tax error %+v, want %s naming /type", got, worker.CodeInvalidEvent)
	}
	if dl := h.Messages(bus.DLQStream, bus.DLQPrefix+">"); len(dl) != 1 {
		t.Errorf("%d dead letters, want the misrouted event", len(dl))
	}
	if rec := h.Record(refund.Subject); rec.Order != nil || h.AvaTaxCalls() != 0 {
		t.Errorf("the misrouted event changed the order: %+v, %d calls", rec, h.AvaTaxCalls())
	}
}
