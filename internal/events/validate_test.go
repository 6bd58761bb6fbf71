package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func sampleOrder() Order {
	return Order{
		ID: "ORD-1", Date: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), SalesChannel: "web",
		OrderItems:     []OrderItem{{ID: "OI1", ItemID: "SKU1", Quantity: 2, PricingDetails: ItemPricing{Price: decimal.RequireFromString("20.00")}}},
		LineItemGroups: []LineItemGroup{{ID: "LIG1", OrderItemID: "OI1", Quantity: 2, State: "pending"}},
	}
}

func encode(t *testing.T, typ Type, data any) []byte {
	t.Helper()
	env, err := New("evt-1", "test", typ, "ORD-1", time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateAcceptsEveryInboundType(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range InboundTypes {
		d := OrderEvent{OrderVersion: 1, Order: sampleOrder(), State: "paid", EntityID: "X"}
		if typ == RefundOrderTaxes {
			d.Return = &Return{ID: "RET-1", LineItemGroupIDs: []string{"LIG1"}}
		}
		if typ.IsPlex() {
			d = plexData(typ)
		}
		env, err := v.Validate(encode(t, typ, d))
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if env.Type != typ || env.ID != "evt-1" || env.Subject != "ORD-1" {
			t.Errorf("%s: decoded %+v", typ, env)
		}
	}
}

// plexData is the data of a valid Plex event of type typ.
func plexData(typ Type) OrderEvent {
	d := OrderEvent{OrderVersion: 1, Order: sampleOrder(), Action: RefreshOrderTaxes,
		Plex: &PlexOrder{Kind: PlexSalesOrder, ID: "SO-1", Number: "1001", Status: "Open", Fingerprint: strings.Repeat("ab", 32)}}
	d.Order.DocumentType = "SalesInvoice"
	if typ == PlexPurchaseOrderChanged {
		d.Plex.Kind, d.Order.DocumentType = PlexPurchaseOrder, "PurchaseInvoice"
		d.Order.Origin = &Address{City: "Toledo", Region: "OH", ZipCode: "43604", Country: "US"}
	}
	return d
}

func TestPlexEvents(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		typ   Type
		edit  func(*OrderEvent)
		field string // "" when valid
	}{
		{"sales order", PlexSalesOrderChanged, func(*OrderEvent) {}, ""},
		{"purchase order", PlexPurchaseOrderChanged, func(*OrderEvent) {}, ""},
		{"cancelled", PlexSalesOrderChanged, func(d *OrderEvent) { d.Action = VoidOrderTaxes }, ""},
		{"refund is no Plex action", PlexSalesOrderChanged, func(d *OrderEvent) { d.Action = RefundOrderTaxes }, "/data/action"},
		{"no action", PlexSalesOrderChanged, func(d *OrderEvent) { d.Action = "" }, "/data"},
		{"version 0", PlexSalesOrderChanged, func(d *OrderEvent) { d.OrderVersion = 0 }, "/data/order_version"},
		{"bad fingerprint", PlexSalesOrderChanged, func(d *OrderEvent) { d.Plex.Fingerprint = "x" }, "/data/plex/fingerprint"},
		{"purchase as sales", PlexSalesOrderChanged, func(d *OrderEvent) { d.Plex.Kind = PlexPurchaseOrder }, "/data/plex/kind"},
		{"sales document for a purchase", PlexPurchaseOrderChanged, func(d *OrderEvent) { d.Order.DocumentType = "SalesInvoice" }, "/data/order/document_type"},
		{"long document code", PlexSalesOrderChanged, func(d *OrderEvent) { d.Order.DocumentCode = strings.Repeat("x", 51) }, "/data/order/document_code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := plexData(tc.typ)
			tc.edit(&d)
			in, err := v.Inbound(encode(t, tc.typ, d))
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if in.Action() != d.Action || in.Data.Plex == nil || in.Data.Plex.Kind != d.Plex.Kind || in.Data.Order.DocumentType != d.Order.DocumentType {
					t.Errorf("decoded action %q, data %+v", in.Action(), in.Data)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || !strings.HasPrefix(inv.Problems[0], tc.field+":") {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func TestPlexOrderID(t *testing.T) {
	for _, kind := range []string{PlexSalesOrder, PlexPurchaseOrder} {
		id := PlexOrderID(kind, "a-1")
		if k, plexID, ok := ParsePlexOrderID(id); !ok || k != kind || plexID != "a-1" {
			t.Errorf("ParsePlexOrderID(%q) = %q, %q, %v", id, k, plexID, ok)
		}
	}
	for _, id := range []string{"WEB-3", "plex-so-", "plex-xx-1"} {
		if _, _, ok := ParsePlexOrderID(id); ok {
			t.Errorf("ParsePlexOrderID(%q) ok for an OMS order id", id)
		}
	}
}

func TestInboundDecodesTheDataOnce(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	d := OrderEvent{OrderVersion: 7, Order: sampleOrder(), Return: &Return{ID: "RET-1", LineItemGroupIDs: []string{"LIG1"}}}
	in, err := v.Inbound(encode(t, RefundOrderTaxes, d))
	if err != nil {
		t.Fatal(err)
	}
	if in.Type != RefundOrderTaxes || in.ID != "evt-1" || in.Subject != "ORD-1" {
		t.Errorf("envelope = %+v", in.Envelope)
	}
	if in.Data.OrderVersion != 7 || in.Data.Order.ID != "ORD-1" || in.Data.Return == nil || in.Data.Return.ID != "RET-1" ||
		!in.Data.Order.OrderItems[0].PricingDetails.Price.Equal(decimal.RequireFromString("20")) {
		t.Errorf("data = %+v", in.Data)
	}
}

func TestInboundRefuses(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	otherOrder := OrderEvent{OrderVersion: 1, Order: sampleOrder(), EntityID: "ORD-2", State: "paid"}
	otherOrder.Order.ID = "ORD-2"
	result := encode(t, TaxResult, ResultData{OrderID: "ORD-1", OrderVersion: 1, Action: RefreshOrderTaxes,
		State: "uncommitted", CauseEventID: "evt-0", Document: &Document{Code: "ORD-1", Type: "SalesInvoice", Status: "Saved", Lines: []DocumentLine{}}, Documents: []Document{}})
	if _, err := v.Validate(result); err != nil {
		t.Fatalf("the result itself must be valid: %v", err)
	}
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"subject is not the order", encode(t, OrderStateChanged, otherOrder), `/subject: "ORD-1" differs from /data/order/id "ORD-2"`},
		{"outbound type", result, `/type: "tax_result" is not an inbound event type`},
		{"array", []byte(`[]`), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Inbound(tt.raw)
			var ie *InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an *InvalidError mentioning %q", err, tt.want)
			}
		})
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	noReturn := OrderEvent{OrderVersion: 1, Order: sampleOrder()}
	badQty := OrderEvent{OrderVersion: 1, Order: sampleOrder()}
	badQty.Order.LineItemGroups[0].Quantity = -1
	longID := OrderEvent{OrderVersion: 1, Order: sampleOrder()}
	longID.Order.ID = strings.Repeat("x", 51)
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"not json", []byte("{"), "not a JSON object"},
		{"unknown type", []byte(`{"type":"order_created"}`), `/type: unknown event type "order_created"`},
		{"missing return", encode(t, RefundOrderTaxes, noReturn), "/data: missing property 'return'"},
		{"negative quantity", encode(t, RefreshOrderTaxes, badQty), "/data/order/line_item_groups/0/quantity"},
		{"order id too long", encode(t, VoidOrderTaxes, longID), "/data/order/id"},
		{"bad amount", []byte(strings.Replace(string(encode(t, VoidOrderTaxes, noReturn)), `"price":20`, `"price":"twenty"`, 1)), "/data/order/order_items/0/pricing_details/price"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Validate(tt.raw)
			if _, ierr := v.Inbound(tt.raw); ierr == nil || ierr.Error() != err.Error() {
				t.Errorf("Inbound: %v, Validate: %v", ierr, err)
			}
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *InvalidError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
