package taxctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// TestOrderShowNamesWhatToCorrect: an order refused for an address AvaTax
// cannot resolve shows the tax error (code, field, why) under order show,
// until a corrected event goes through.
func TestOrderShowNamesWhatToCorrect(t *testing.T) {
	h := workertest.Start(t)
	f := scenario.HomeDelivery("TYPO-1")
	paid := f.Events[1]
	var data events.OrderEvent
	if err := json.Unmarshal(paid.Data, &data); err != nil {
		t.Fatal(err)
	}
	good := data.Order.Delivery.Destination.Address.ZipCode
	data.Order.Delivery.Destination.Address.ZipCode = "00000"
	bad, err := events.New(paid.ID, paid.Source, paid.Type, paid.Subject, paid.Time, data)
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(bad)
	h.WaitApplied(f.OrderID, bad.ID)
	out := mustCtl(t, h.JS, "order", "show", f.OrderID)
	wantContains(t, "order show of a refused order", out, "refused: invalid_address",
		"last tax error", "invalid_address on /data/order/delivery/destination/address", "cannot resolve the address", bad.ID)

	data.OrderVersion++
	data.Order.Delivery.Destination.Address.ZipCode = good
	fixed, err := events.New(paid.ID+"-fixed", paid.Source, paid.Type, paid.Subject, paid.Time, data)
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(fixed)
	h.WaitApplied(f.OrderID, fixed.ID)
	if out := mustCtl(t, h.JS, "order", "show", f.OrderID); strings.Contains(out, "last tax error") {
		t.Errorf("order show after the correction still shows the tax error:\n%s", out)
	}
}
