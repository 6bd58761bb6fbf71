package e2e

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
)

// A 2-unit item at 25.01 with only its row price, shipped one unit per
// line item group, then returned one unit at a time with the second return
// published first: the committed SalesInvoice is worth the order to the
// cent, each return refunds what its unit was sold for, the two refund the
// sale exactly, and a third return of a unit already refunded is refused.
// Judged from the sandbox's documents.
func TestSplitPricesAddUpToTheCent(t *testing.T) {
	h := start(t)
	f := scenario.Returned("WEB-CENT")
	split := func(o *events.Order) {
		o.OrderItems[0].PricingDetails.Price = decimal.RequireFromString("25.01")
		o.OrderItems[0].PricingDetails.UnitPrice = nil
		o.LineItemGroups[0].Quantity = 1
		half := o.LineItemGroups[0]
		half.ID = "LIG-1B"
		o.LineItemGroups = append(o.LineItemGroups, half)
	}
	evs := make([]events.Envelope, len(f.Events))
	for i, e := range f.Events {
		evs[i] = withOrder(t, e, split)
	}
	sold, refund := evs[:len(evs)-1], evs[len(evs)-1]
	runInOrder(h, scenario.Flow{OrderID: f.OrderID, Events: sold})

	sale, ok := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
	if !ok || sale.Status != avatax.StatusCommitted {
		t.Fatalf("sale %v %s, want committed", ok, sale.Status)
	}
	amounts := map[string]string{}
	for _, l := range sale.Lines {
		amounts[l.LineNumber] = l.LineAmount.String()
	}
	if amounts["LIG-1"] != "12.51" || amounts["LIG-1B"] != "12.5" || sale.TotalAmount.String() != "110.01" {
		t.Fatalf("sale lines %v total %s, want 12.51 + 12.50 for the item and 110.01 for the order", amounts, sale.TotalAmount)
	}

	returnOf := func(e events.Envelope, id, returnID, group string, version int64) events.Envelope {
		e = withOrder(t, e, func(o *events.Order) {
			for i := range o.LineItemGroups {
				if strings.HasPrefix(o.LineItemGroups[i].ID, "LIG-1") {
					o.LineItemGroups[i].State = "returned"
				}
			}
		})
		e = withVersion(t, e, version)
		e.ID = id
		e.Data = []byte(strings.Replace(string(e.Data), `"return":{"id":"RET-1","line_item_group_ids":["LIG-2"]}`,
			`"return":{"id":"`+returnID+`","line_item_group_ids":["`+group+`"]}`, 1))
		return e
	}
	first := returnOf(refund, f.OrderID+"-ret-a", "RET-A", "LIG-1B", 4)
	second := returnOf(refund, f.OrderID+"-ret-b", "RET-B", "LIG-1", 5)
	again := returnOf(refund, f.OrderID+"-ret-c", "RET-C", "LIG-1", 6)
	h.Publish(second)
	h.WaitApplied(f.OrderID, second.ID)
	h.Publish(first)
	h.WaitApplied(f.OrderID, first.ID)
	h.Publish(again)
	rec := h.WaitApplied(f.OrderID, again.ID)

	refunded := map[string]string{}
	sum := decimal.Zero
	for _, d := range h.Sandbox.Documents(h.Company) {
		if d.Type == avatax.ReturnInvoice {
			for _, l := range d.Lines {
				refunded[l.LineNumber] = l.LineAmount.String()
			}
			sum = sum.Add(d.TotalAmount)
		}
	}
	if refunded["LIG-1"] != "-12.51" || refunded["LIG-1B"] != "-12.5" || len(refunded) != 2 || sum.String() != "-25.01" {
		t.Errorf("refunds %v sum %s, want each unit's sale amount back and -25.01 in all", refunded, sum)
	}
	errs := h.TaxErrors(f.OrderID)
	if rec.State != lifecycle.CommittedRefund || len(errs) != 1 || errs[0].Field != "/data/return/line_item_group_ids/0" {
		t.Errorf("state %s errors %+v, want committed_refund and one tax error for the unit returned twice", rec.State, errs)
	}
}
