package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
)

// plexEvent is a Plex poller's event for an order of the given kind, as
// the poller publishes it: the action in the data, a document code of its
// own, one line item group per Plex line.
func plexEvent(t *testing.T, kind, plexID string, version int64, status string, action events.Type, edit func(*events.Order)) events.Envelope {
	t.Helper()
	id := events.PlexOrderID(kind, plexID)
	o := events.Order{ID: id, Date: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), SalesChannel: "plex", State: status,
		DocumentType: avatax.SalesInvoice, DocumentCode: "PLEX-" + plexID,
		Customer: events.Customer{ID: "C-ACME"},
		Delivery: events.Delivery{Destination: events.Destination{Address: &events.Address{
			Lines: []string{"100 Pine St"}, City: "Seattle", ZipCode: "98101", Region: "WA", Country: "US"}}},
		OrderItems: []events.OrderItem{
			{ID: "L1", ItemID: "PART-1", Quantity: 4, PricingDetails: events.ItemPricing{Price: decimal.RequireFromString("400.00")}},
			{ID: "L2", ItemID: "PART-2", Quantity: 1, PricingDetails: events.ItemPricing{Price: decimal.RequireFromString("55.55")}},
		},
		LineItemGroups: []events.LineItemGroup{
			{ID: "L1", OrderItemID: "L1", Quantity: 4, State: "open"},
			{ID: "L2", OrderItemID: "L2", Quantity: 1, State: "open"},
		},
	}
	if kind == events.PlexPurchaseOrder {
		o.DocumentType, o.DocumentCode, o.Customer.ID = "PurchaseInvoice", "PLEX-PO-"+plexID, "SUP-STEEL"
		o.Origin = &events.Address{Lines: []string{"9 Dock Rd"}, City: "Toledo", ZipCode: "43604", Region: "OH", Country: "US"}
		o.Delivery = events.Delivery{Destination: events.Destination{EndpointID: "PLANT-DETROIT"}}
	}
	if edit != nil {
		edit(&o)
	}
	typ := events.PlexSalesOrderChanged
	if kind == events.PlexPurchaseOrder {
		typ = events.PlexPurchaseOrderChanged
	}
	data := events.OrderEvent{OrderVersion: version, Order: o, Action: action,
		Plex: &events.PlexOrder{Kind: kind, ID: plexID, Number: plexID, Status: status}}
	sum := sha256.Sum256(fmt.Appendf(nil, "%+v", data))
	data.Plex.Fingerprint = hex.EncodeToString(sum[:])
	env, err := events.New(fmt.Sprintf("plex:%s:%d:%s", id, version, data.Plex.Fingerprint[:16]), "test/plex", typ, id, time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// A Plex sales order goes through the worker's one lifecycle: taxed
// uncommitted when new, adjusted when modified, committed when it reaches
// a commit state of the plex sales channel (Closed), and a cancelled one
// is voided. Judged from the sandbox's documents and the results.
func TestPlexSalesOrderLifecycle(t *testing.T) {
	h := start(t)
	const so = "SO-1001"
	id := events.PlexOrderID(events.PlexSalesOrder, so)

	opened := plexEvent(t, events.PlexSalesOrder, so, 1, "Open", events.RefreshOrderTaxes, nil)
	h.Publish(opened)
	if rec := h.WaitApplied(id, opened.ID); rec.State != lifecycle.Uncommitted {
		t.Fatalf("state %s after a new order, want uncommitted", rec.State)
	}
	doc, ok := h.Sandbox.Document(h.Company, "PLEX-"+so, avatax.SalesInvoice)
	if !ok || doc.Status != avatax.StatusSaved || doc.TotalAmount.String() != "455.55" {
		t.Fatalf("document PLEX-%s: found %v, status %s, total %s; want saved, 455.55", so, ok, doc.Status, doc.TotalAmount)
	}

	modified := plexEvent(t, events.PlexSalesOrder, so, 2, "Open", events.RefreshOrderTaxes, func(o *events.Order) {
		o.OrderItems[1].PricingDetails.Price = decimal.RequireFromString("65.55")
	})
	h.Publish(modified)
	h.WaitApplied(id, modified.ID)
	if doc, _ = h.Sandbox.Document(h.Company, "PLEX-"+so, avatax.SalesInvoice); doc.TotalAmount.String() != "465.55" {
		t.Fatalf("total %s after the modification, want 465.55", doc.TotalAmount)
	}

	closed := plexEvent(t, events.PlexSalesOrder, so, 3, "Closed", events.RefreshOrderTaxes, func(o *events.Order) {
		o.OrderItems[1].PricingDetails.Price = decimal.RequireFromString("65.55")
	})
	h.Publish(closed)
	h.Publish(closed) // a re-poll after a crash: the same event again
	if rec := h.WaitApplied(id, closed.ID); rec.State != lifecycle.Committed {
		t.Fatalf("state %s after Closed, want committed", rec.State)
	}
	if doc, _ = h.Sandbox.Document(h.Company, "PLEX-"+so, avatax.SalesInvoice); doc.Status != avatax.StatusCommitted {
		t.Fatalf("status %s after Closed, want committed", doc.Status)
	}
	results := h.Results(id)
	if len(results) != 3 || results[2].Action != events.RefreshOrderTaxes || results[2].State != string(lifecycle.Committed) ||
		results[2].Document == nil || !results[2].Document.TotalTax.Equal(doc.TotalTax) {
		t.Fatalf("results %+v, want 3, the last a committed refresh with the document's tax %s", results, doc.TotalTax)
	}

	const cancelled = "SO-1002"
	cid := events.PlexOrderID(events.PlexSalesOrder, cancelled)
	first := plexEvent(t, events.PlexSalesOrder, cancelled, 1, "Open", events.RefreshOrderTaxes, nil)
	h.Publish(first)
	h.WaitApplied(cid, first.ID)
	gone := plexEvent(t, events.PlexSalesOrder, cancelled, 2, "Cancelled", events.VoidOrderTaxes, nil)
	h.Publish(gone)
	if rec := h.WaitApplied(cid, gone.ID); rec.State != lifecycle.Void {
		t.Fatalf("state %s after Cancelled, want void", rec.State)
	}
	if doc, _ := h.Sandbox.Document(h.Company, "PLEX-"+cancelled, avatax.SalesInvoice); doc.Status != avatax.StatusCancelled {
		t.Fatalf("status %s after Cancelled, want cancelled", doc.Status)
	}
}

// A purchase order is a PurchaseInvoice (consumer use tax) shipped from
// the supplier to the receiving plant, committed when Received; an exempt
// customer's order carries its certificate number and no tax.
func TestPlexPurchaseOrderAndExemption(t *testing.T) {
	h := start(t)
	po := plexEvent(t, events.PlexPurchaseOrder, "4500", 1, "Received", events.RefreshOrderTaxes, nil)
	h.Publish(po)
	if rec := h.WaitApplied(po.Subject, po.ID); rec.State != lifecycle.Committed {
		t.Fatalf("purchase order state %s, want committed", rec.State)
	}
	doc, ok := h.Sandbox.Document(h.Company, "PLEX-PO-4500", "PurchaseInvoice")
	if !ok || doc.Status != avatax.StatusCommitted || !doc.TotalTax.IsPositive() {
		t.Fatalf("PurchaseInvoice: found %v, status %s, tax %s; want committed use tax", ok, doc.Status, doc.TotalTax)
	}
	var regions []string
	for _, a := range doc.Addresses {
		regions = append(regions, a.BoundaryLevel+":"+a.Region)
	}
	if !hasRegion(doc, "OH") || !hasRegion(doc, "MI") {
		t.Fatalf("addresses %v, want the supplier's (OH) and the plant's (MI)", regions)
	}

	exempt := plexEvent(t, events.PlexSalesOrder, "SO-2001", 1, "Open", events.RefreshOrderTaxes, func(o *events.Order) {
		o.Customer.ExemptionNo = "EXEMPT-WA-77"
	})
	h.Publish(exempt)
	h.WaitApplied(exempt.Subject, exempt.ID)
	doc, ok = h.Sandbox.Document(h.Company, "PLEX-SO-2001", avatax.SalesInvoice)
	if !ok || doc.ExemptNo != "EXEMPT-WA-77" || !doc.TotalTax.IsZero() || !doc.TotalExempt.IsPositive() {
		t.Fatalf("exempt order: found %v, exemptNo %q, tax %s, exempt %s; want the number, no tax", ok, doc.ExemptNo, doc.TotalTax, doc.TotalExempt)
	}
}

func hasRegion(doc avatax.TransactionModel, region string) bool {
	for _, a := range doc.Addresses {
		if a.Region == region {
			return true
		}
	}
	return false
}

// An address AvaTax cannot resolve is a tax error naming the order and
// the field; the poll after the address is corrected in Plex (a newer
// version) taxes the order, with no replay.
func TestPlexBadAddressCorrectedLater(t *testing.T) {
	h := start(t)
	bad := plexEvent(t, events.PlexSalesOrder, "SO-3001", 1, "Open", events.RefreshOrderTaxes, func(o *events.Order) {
		o.Delivery.Destination.Address.ZipCode = "00000"
	})
	h.Publish(bad)
	if rec := h.WaitApplied(bad.Subject, bad.ID); rec.State != lifecycle.None {
		t.Fatalf("state %s after a bad address, want none", rec.State)
	}
	errs := h.TaxErrors(bad.Subject)
	if len(errs) != 1 || errs[0].Code != "invalid_address" || errs[0].Field != "/data/order/delivery/destination/address" ||
		errs[0].OrderID != bad.Subject || errs[0].Action != events.RefreshOrderTaxes {
		t.Fatalf("tax errors %+v, want one invalid_address on the destination of %s", errs, bad.Subject)
	}
	fixed := plexEvent(t, events.PlexSalesOrder, "SO-3001", 2, "Open", events.RefreshOrderTaxes, nil)
	h.Publish(fixed)
	if rec := h.WaitApplied(fixed.Subject, fixed.ID); rec.State != lifecycle.Uncommitted {
		t.Fatalf("state %s after the correction, want uncommitted", rec.State)
	}
	if _, ok := h.Sandbox.Document(h.Company, "PLEX-SO-3001", avatax.SalesInvoice); !ok {
		t.Fatal("no document after the correction")
	}

	// A supplier address that does not resolve names the order's origin.
	po := plexEvent(t, events.PlexPurchaseOrder, "4600", 1, "Open", events.RefreshOrderTaxes, func(o *events.Order) {
		o.Origin.ZipCode = "00000"
	})
	h.Publish(po)
	h.WaitApplied(po.Subject, po.ID)
	if errs := h.TaxErrors(po.Subject); len(errs) != 1 || errs[0].Field != "/data/order/origin" {
		t.Fatalf("tax errors %+v, want one on /data/order/origin", errs)
	}
}
