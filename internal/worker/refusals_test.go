package worker_test

import (
	"encoding/json"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
)

// withOrder returns the event with its order snapshot changed.
func withOrder(t *testing.T, e events.Envelope, f func(*events.Order)) events.Envelope {
	t.Helper()
	var d events.OrderEvent
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	f(&d.Order)
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	e.Data = raw
	return e
}

// TestUnconfiguredSalesChannelIsRefused: an order from a sales channel the
// tax configuration does not list is refused with a tax error naming the
// field, not taxed with the global defaults.
func TestUnconfiguredSalesChannelIsRefused(t *testing.T) {
	r := newRig(t)
	f := scenario.HomeDelivery("WEB-CH")
	typo := func(o *events.Order) { o.SalesChannel = "wbe" }
	r.mustDeliver(withOrder(t, f.Events[0], typo))
	r.mustDeliver(withOrder(t, f.Events[1], typo))
	errs := r.TaxErrors(f.OrderID)
	if len(errs) != 1 || errs[0].Code != "invalid_order_data" || errs[0].Field != "/data/order/sales_channel" {
		t.Fatalf("tax errors %+v, want one invalid_order_data naming /data/order/sales_channel", errs)
	}
	if rec := r.Record(f.OrderID); rec.State != lifecycle.None || r.AvaTaxCalls() != 0 {
		t.Errorf("state %s after %d AvaTax calls, want none and no call", rec.State, r.AvaTaxCalls())
	}
}
