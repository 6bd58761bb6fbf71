package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// configWith returns the example tax configuration with one text replaced.
func configWith(t *testing.T, from, to string) []byte {
	t.Helper()
	s := strings.Replace(string(taxconfig.Example), from, to, 1)
	if s == string(taxconfig.Example) {
		t.Fatalf("configuration edit %q did not apply", from)
	}
	return []byte(s)
}

func TestPartialCancelCommitsWithoutTheCancelledGroup(t *testing.T) {
	h := start(t)
	f := scenario.PartialCancel("WEB-PC")
	runInOrder(h, f)
	rec := h.Record(f.OrderID)
	if rec.State != lifecycle.Committed {
		t.Fatalf("state %s", rec.State)
	}
	d, _ := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
	checkDoc(t, d, avatax.SalesInvoice, avatax.StatusCommitted,
		[]wantLine{{"LIG-1", "49.98", newYork}, {"SHIP-FEE-1", "5.00", newYork}}, false)
	if n := h.AvaTaxCalls(); n != f.Calls {
		t.Errorf("%d AvaTax calls (%v), want %d", n, h.Sandbox.Calls(), f.Calls)
	}
}

func TestECommerceDocumentIsCommittedByLineIDs(t *testing.T) {
	h := start(t)
	f := scenario.ECommerce("WEB-EC")
	code := scenario.ECommerceTransactionID(f.OrderID)
	// The e-commerce front end estimated from its own default warehouse.
	front := avatax.New(h.SandboxURL, avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey})
	ny := &avatax.AddressLocationInfo{Line1: "350 5th Ave", City: "New York", Region: "NY", PostalCode: "10118", Country: "US"}
	irvine := &avatax.AddressLocationInfo{Line1: "2000 Main St", City: "Irvine", Region: "CA", PostalCode: "92614", Country: "US"}
	_, err := front.CreateOrAdjust(context.Background(), avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: code, Type: avatax.SalesInvoice, CompanyCode: h.Company, Date: "2026-11-02", CustomerCode: "CUST",
		Addresses: &avatax.AddressesModel{ShipFrom: irvine, ShipTo: ny},
		Lines: []avatax.LineItemModel{
			{Number: "1", Quantity: decimal.NewFromInt(2), Amount: decimal.RequireFromString("49.98"), ItemCode: "TSHIRT-M"},
			{Number: "2", Quantity: decimal.NewFromInt(1), Amount: decimal.RequireFromString("80.00"), ItemCode: "JACKET-L"},
			{Number: "3", Quantity: decimal.NewFromInt(1), Amount: decimal.RequireFromString("5.00"), TaxCode: "FR020100"},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	before := h.AvaTaxCalls()
	runInOrder(h, f)
	rec := h.Record(f.OrderID)
	if rec.State != lifecycle.Committed || rec.Sale == nil || rec.Sale.Code != code {
		t.Fatalf("record state %s sale %+v, want the front end's document committed", rec.State, rec.Sale)
	}
	d, _ := h.Sandbox.Document(h.Company, code, avatax.SalesInvoice)
	checkDoc(t, d, avatax.SalesInvoice, avatax.StatusCommitted,
		[]wantLine{{"1", "49.98", newYork}, {"2", "80.00", newYork}, {"3", "5.00", newYork}}, false)
	if got := h.AvaTaxCalls() - before; got != f.Calls {
		t.Errorf("%d AvaTax calls, want %d", got, f.Calls)
	}
	if _, ok := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice); ok {
		t.Error("taxbridge created a second document under the order id")
	}
	res := h.Results(f.OrderID)
	if len(res) != 1 || res[0].Document.Lines[0].Kind != events.OrderItemLine || res[0].Document.Lines[0].ID != "OI-1" ||
		res[0].Document.Lines[2].Kind != events.ShippingFeeLine || res[0].Document.Lines[2].ID != "FEE-1" {
		t.Errorf("result %+v, want lines named by order item and shipping fee", res)
	}
}

func TestECommerceVoid(t *testing.T) {
	h := start(t)
	f := scenario.ECommerce("WEB-EV")
	code := scenario.ECommerceTransactionID(f.OrderID)
	front := avatax.New(h.SandboxURL, avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey})
	if _, err := front.CreateOrAdjust(context.Background(), avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: code, Type: avatax.SalesInvoice, CompanyCode: h.Company, Date: "2026-11-02", CustomerCode: "CUST",
		Addresses: &avatax.AddressesModel{SingleLocation: &avatax.AddressLocationInfo{PostalCode: "10118", Country: "US", Region: "NY", City: "New York", Line1: "350 5th Ave"}},
		Lines:     []avatax.LineItemModel{{Number: "1", Quantity: decimal.NewFromInt(1), Amount: decimal.NewFromInt(10)}}}}); err != nil {
		t.Fatal(err)
	}
	void := withVersion(t, f.Events[0], 2)
	void.Type, void.ID = events.VoidOrderTaxes, f.OrderID+"-void"
	h.Publish(void)
	rec := h.WaitApplied(f.OrderID, void.ID)
	d, _ := h.Sandbox.Document(h.Company, code, avatax.SalesInvoice)
	if rec.State != lifecycle.Void || d.Status != avatax.StatusCancelled {
		t.Fatalf("state %s, document %s: want void and Cancelled", rec.State, d.Status)
	}
}

// Settings the worker applies (the mapping settings are tested in taxdoc).
func TestWorkerSettings(t *testing.T) {
	t.Run("disable_tax_recording never commits", func(t *testing.T) {
		h := start(t, workertest.WithTaxConfig(configWith(t, `"disable_tax_recording": false`, `"disable_tax_recording": true`)))
		f := scenario.HomeDelivery("WEB-NR")
		runInOrder(h, f)
		d, _ := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
		if rec := h.Record(f.OrderID); rec.State != lifecycle.Uncommitted || d.Status != avatax.StatusSaved {
			t.Fatalf("state %s document %s, want uncommitted and Saved", rec.State, d.Status)
		}
	})
	t.Run("commitable_parcel_states decides the commit", func(t *testing.T) {
		h := start(t, workertest.WithTaxConfig(configWith(t, `"commitable_parcel_states": ["dispatched", "delivered"]`, `"commitable_parcel_states": ["delivered"]`)))
		f := scenario.HomeDelivery("WEB-CP")
		runInOrder(h, f)
		if rec := h.Record(f.OrderID); rec.State != lifecycle.Uncommitted {
			t.Fatalf("state %s after dispatch, want uncommitted: only delivered parcels commit", rec.State)
		}
		last := f.Events[len(f.Events)-1]
		delivered := withOrder(t, last, func(o *events.Order) { o.Parcels[0].State = "delivered" })
		delivered = withVersion(t, delivered, 9)
		h.Publish(delivered)
		if rec := h.WaitApplied(f.OrderID, delivered.ID); rec.State != lifecycle.Committed {
			t.Fatalf("state %s after delivery, want committed", rec.State)
		}
	})
	t.Run("tax_provider none sends nothing", func(t *testing.T) {
		h := start(t, workertest.WithTaxConfig(configWith(t, `"web": {"tax_provider": "avalara"}`, `"web": {"tax_provider": "none"}`)))
		f := scenario.HomeDelivery("WEB-NP")
		runInOrder(h, f)
		if rec := h.Record(f.OrderID); rec.State != lifecycle.None || h.AvaTaxCalls() != 0 {
			t.Fatalf("state %s with %d AvaTax calls, want none and 0", rec.State, h.AvaTaxCalls())
		}
	})
	t.Run("order in store refuses refunds", func(t *testing.T) {
		h := start(t)
		f := scenario.StraightFulfil("OIS-RF")
		runInOrder(h, f)
		refund := withVersion(t, f.Events[len(f.Events)-1], 2)
		refund.Type, refund.ID = events.RefundOrderTaxes, f.OrderID+"-refund"
		refund.Data = []byte(strings.Replace(string(refund.Data), `"workflow":"order"`,
			`"workflow":"line_item_group","return":{"id":"R1","line_item_group_ids":["LIG-1"]}`, 1))
		h.Publish(refund)
		rec := h.WaitApplied(f.OrderID, refund.ID)
		errs := h.TaxErrors(f.OrderID)
		if rec.State != lifecycle.Committed || len(errs) != 1 || errs[0].Code != lifecycle.RefusedRefundOrderInStore {
			t.Fatalf("state %s errors %+v, want committed and one %s", rec.State, errs, lifecycle.RefusedRefundOrderInStore)
		}
	})
}

// Several returns of one order each get their own deterministic code.
func TestSeveralReturns(t *testing.T) {
	h := start(t)
	f := scenario.Returned("WEB-SR")
	runInOrder(h, f)
	refund := f.Events[len(f.Events)-1]
	second := withOrder(t, refund, func(o *events.Order) { o.LineItemGroups[0].State = "returned" })
	second = withVersion(t, second, 4)
	second.ID = f.OrderID + "-second-return"
	second.Data = []byte(strings.Replace(string(second.Data), `"return":{"id":"RET-1","line_item_group_ids":["LIG-2"]}`,
		`"return":{"id":"RET-2","line_item_group_ids":["LIG-1"],"refund_shipping":true}`, 1))
	h.Publish(second)
	h.Publish(refund) // the first return again: already refunded
	rec := h.WaitApplied(f.OrderID, second.ID)
	var codes []string
	for _, d := range h.Sandbox.Documents(h.Company) {
		if d.Type == avatax.ReturnInvoice {
			codes = append(codes, d.Code)
		}
	}
	slices.Sort(codes)
	if !slices.Equal(codes, []string{"WEB-SR-R1", "WEB-SR-R2"}) || rec.State != lifecycle.CommittedRefund {
		t.Fatalf("returns %v state %s", codes, rec.State)
	}
	d, _ := h.Sandbox.Document(h.Company, "WEB-SR-R2", avatax.ReturnInvoice)
	checkDoc(t, d, avatax.ReturnInvoice, avatax.StatusCommitted,
		[]wantLine{{"LIG-1", "49.98", newYork}, {"SHIP-FEE-1", "5.00", newYork}}, true)
}

// A refresh that changes nothing tax-relevant makes no AvaTax call.
func TestUnchangedRefreshMakesNoCall(t *testing.T) {
	h := start(t)
	f := scenario.HomeDelivery("WEB-UC")
	paid := f.Events[:2]
	runInOrder(h, scenario.Flow{OrderID: f.OrderID, Events: paid})
	calls := h.AvaTaxCalls()
	again := withVersion(t, paid[1], 2)
	again.ID = f.OrderID + "-refresh-again"
	moved := withOrder(t, paid[1], func(o *events.Order) { o.State = "orchestrating" }) // not tax-relevant
	moved = withVersion(t, moved, 3)
	moved.ID = f.OrderID + "-orchestrating"
	for _, e := range []events.Envelope{again, moved} {
		h.Publish(e)
		h.WaitApplied(f.OrderID, e.ID)
	}
	if got := h.AvaTaxCalls(); got != calls {
		t.Fatalf("%d AvaTax calls after refreshes that changed nothing, want %d", got, calls)
	}
	changed := withOrder(t, paid[1], func(o *events.Order) { o.ShippingFees[0].Price = decimal.RequireFromString("6.00") })
	changed = withVersion(t, changed, 4)
	changed.ID = f.OrderID + "-shipping-changed"
	h.Publish(changed)
	h.WaitApplied(f.OrderID, changed.ID)
	if got := h.AvaTaxCalls(); got != calls+1 {
		t.Fatalf("%d AvaTax calls after the shipping fee changed, want one adjustment (%d)", got, calls+1)
	}
}

// A return that cannot be refunded (it names a group the order does not
// have) is refused with a tax error once; it must not block the order's
// later events, and the same return sent again with corrected data is
// refunded under its own code.
func TestBadReturnDoesNotBlockTheOrder(t *testing.T) {
	h := start(t)
	f := scenario.Returned("WEB-BR")
	refund := f.Events[len(f.Events)-1]
	runInOrder(h, scenario.Flow{OrderID: f.OrderID, Events: f.Events[:len(f.Events)-1]})
	bad := refund
	bad.ID = f.OrderID + "-bad-return"
	bad.Data = []byte(strings.Replace(string(bad.Data), `"line_item_group_ids":["LIG-2"]`, `"line_item_group_ids":["NOPE"]`, 1))
	h.Publish(bad)
	h.WaitApplied(f.OrderID, bad.ID)
	h.Publish(refund) // the same return, corrected
	rec := h.WaitApplied(f.OrderID, refund.ID)
	h.WaitIdle()
	if rec.State != lifecycle.CommittedRefund {
		t.Fatalf("state %s, want committed_refund from the corrected return", rec.State)
	}
	ret, ok := h.Sandbox.Document(h.Company, f.OrderID+"-R1", avatax.ReturnInvoice)
	if !ok || len(ret.Lines) != 1 || ret.Lines[0].LineNumber != "LIG-2" {
		t.Errorf("corrected return: %v %+v, want WEB-BR-R1 refunding LIG-2", ok, ret.Lines)
	}
	errs := h.TaxErrors(f.OrderID)
	if len(errs) != 1 || errs[0].Code != "invalid_order_data" || errs[0].Field != "/data/return/line_item_group_ids/0" {
		t.Fatalf("tax errors %+v, want one invalid_order_data naming the return's group", errs)
	}
	if dl := h.Messages(bus.DLQStream, bus.DLQPrefix+">"); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
	info, _ := h.Res.Consumer.Info(h.Ctx)
	if info.NumRedelivered != 0 {
		t.Errorf("%d redeliveries: an event kept failing", info.NumRedelivered)
	}
}
