package plexpoll_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexpoll"
)

var orderDate = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func salesInput() plexpoll.SalesInput {
	return plexpoll.SalesInput{
		Order: plex.SalesOrder{ID: "SO-1", Number: "10001", CustomerID: "C-1", Status: "Open", Currency: "USD", OrderDate: orderDate,
			Lines: []plex.SalesOrderLine{
				{ID: "L-1", LineNumber: 1, PartNumber: "BRKT-100", Quantity: dec("3"), UnitPrice: dec("12.50"), Amount: dec("37.50"), TaxCode: "P0000000"},
				{ID: "L-2", LineNumber: 2, Quantity: dec("2.5"), UnitPrice: dec("4"), Amount: dec("10")},
			}},
		Customer: plex.Customer{ID: "C-1", Code: "ACME", Name: "Acme"},
		Addresses: []plex.CustomerAddress{
			{ID: "A-0", Line1: "9 Bill St", City: "Portland", State: "OR", PostalCode: "97201", Country: "US", BillTo: true},
			{ID: "A-1", Line1: "1 Main St", Line2: "Dock 4", City: "Seattle", State: "WA", PostalCode: "98101", ShipTo: true},
			{ID: "A-2", Line1: "5 Rue X", City: "Montreal", State: "QC", PostalCode: "H2X", Country: "CA", ShipTo: true},
		},
	}
}

func purchaseInput() plexpoll.PurchaseInput {
	return plexpoll.PurchaseInput{
		Order: plex.PurchaseOrder{ID: "PO-1", Number: "P-7", SupplierID: "S-1", SupplierAddressID: "SA-2", ShipTo: "BLDG-2",
			Status: "Open", Currency: "USD", OrderDate: orderDate,
			Lines: []plex.PurchaseOrderLine{
				{ID: "PL-1", PartNumber: "STEEL", Quantity: dec("2"), Amount: dec("800.00"), TaxCode: "PM010000"},
				{ID: "PL-2", PartNumber: "OIL", Quantity: dec("0.5"), Amount: dec("20")},
			}},
		Supplier: plex.Supplier{ID: "S-1", Code: "STEELCO"},
		Addresses: []plex.SupplierAddress{
			{ID: "SA-1", Line1: "1 Mill Rd", City: "Pittsburgh", State: "PA", PostalCode: "15201", Country: "US"},
			{ID: "SA-2", Line1: "2 Forge Ave", City: "Gary", State: "IN", PostalCode: "46402"},
		},
		Defaults: &plex.SupplierPurchasingDefaults{SupplierID: "S-1", DefaultTaxCode: "PS081282"},
	}
}

func TestSalesOrder(t *testing.T) {
	ev, err := plexpoll.Settings{}.Sales(salesInput())
	if err != nil {
		t.Fatal(err)
	}
	o := ev.Order
	if o.ID != "plex-so-SO-1" || !o.Date.Equal(orderDate) || o.SalesChannel != "plex" || o.State != "Open" ||
		o.Customer.ID != "ACME" || o.Customer.ExemptionNo != "" || o.PricingDetails.Currency != "USD" ||
		o.DocumentType != "SalesInvoice" || o.DocumentCode != "PLEX-10001" || o.Origin != nil {
		t.Fatalf("order: %+v", o)
	}
	// No ship-to id: the first ship-to address, country US by default.
	a := o.Delivery.Destination.Address
	if a == nil || strings.Join(a.Lines, "|") != "1 Main St|Dock 4" || a.City != "Seattle" || a.ZipCode != "98101" || a.Region != "WA" || a.Country != "US" {
		t.Fatalf("destination: %+v", a)
	}
	if len(o.OrderItems) != 2 || len(o.LineItemGroups) != 2 {
		t.Fatalf("items %d groups %d", len(o.OrderItems), len(o.LineItemGroups))
	}
	i0, i1 := o.OrderItems[0], o.OrderItems[1]
	if i0.ID != "L-1" || i0.ItemID != "BRKT-100" || i0.Quantity != 3 || !i0.PricingDetails.Price.Equal(dec("37.50")) || i0.TaxCode != "P0000000" {
		t.Fatalf("item 0: %+v", i0)
	}
	// Fractional quantity: 1; no part number: the line id.
	if i1.ItemID != "L-2" || i1.Quantity != 1 || !i1.PricingDetails.Price.Equal(dec("10")) || i1.TaxCode != "" {
		t.Fatalf("item 1: %+v", i1)
	}
	g := o.LineItemGroups[1]
	if g.ID != "L-2" || g.OrderItemID != "L-2" || g.Quantity != 1 || g.State != "open" {
		t.Fatalf("group: %+v", g)
	}
	if ev.Action != events.RefreshOrderTaxes || ev.Plex == nil || ev.Plex.Kind != events.PlexSalesOrder || ev.Plex.ID != "SO-1" ||
		ev.Plex.Number != "10001" || ev.Plex.Status != "Open" || ev.OrderVersion != 0 || ev.Plex.Fingerprint != "" {
		t.Fatalf("event: action %s plex %+v version %d", ev.Action, ev.Plex, ev.OrderVersion)
	}
}

func TestSalesTranslationRules(t *testing.T) {
	cases := []struct {
		name   string
		s      plexpoll.Settings
		modify func(*plexpoll.SalesInput)
		check  func(*testing.T, events.OrderEvent)
	}{
		{"ship-to id chooses the address", plexpoll.Settings{}, func(in *plexpoll.SalesInput) { in.Order.ShipToID = "A-2" },
			func(t *testing.T, ev events.OrderEvent) {
				if a := ev.Order.Delivery.Destination.Address; a.City != "Montreal" || a.Country != "CA" {
					t.Fatalf("address %+v", a)
				}
			}},
		{"an unknown ship-to id falls back to the first ship-to", plexpoll.Settings{}, func(in *plexpoll.SalesInput) { in.Order.ShipToID = "A-9" },
			func(t *testing.T, ev events.OrderEvent) {
				if a := ev.Order.Delivery.Destination.Address; a.City != "Seattle" {
					t.Fatalf("address %+v", a)
				}
			}},
		{"ship-to id may name a bill-to address", plexpoll.Settings{}, func(in *plexpoll.SalesInput) { in.Order.ShipToID = "A-0" },
			func(t *testing.T, ev events.OrderEvent) {
				if a := ev.Order.Delivery.Destination.Address; a.City != "Portland" {
					t.Fatalf("address %+v", a)
				}
			}},
		{"no ship-to address: no destination", plexpoll.Settings{}, func(in *plexpoll.SalesInput) { in.Addresses = in.Addresses[:1] },
			func(t *testing.T, ev events.OrderEvent) {
				if a := ev.Order.Delivery.Destination.Address; a != nil {
					t.Fatalf("address %+v", a)
				}
			}},
		{"exempt customer with a number", plexpoll.Settings{}, func(in *plexpoll.SalesInput) {
			in.Customer.Financials = plex.CustomerFinancials{SalesTaxExempt: true, SalesTaxExemptNo: "EX-42"}
		}, func(t *testing.T, ev events.OrderEvent) {
			if ev.Order.Customer.ExemptionNo != "EX-42" {
				t.Fatalf("customer %+v", ev.Order.Customer)
			}
		}},
		{"exempt customer without a number", plexpoll.Settings{}, func(in *plexpoll.SalesInput) {
			in.Customer.Financials = plex.CustomerFinancials{SalesTaxExempt: true}
		}, func(t *testing.T, ev events.OrderEvent) {
			if ev.Order.Customer.ExemptionNo != "EXEMPT" {
				t.Fatalf("customer %+v", ev.Order.Customer)
			}
		}},
		{"a number without the exempt flag is not an exemption", plexpoll.Settings{}, func(in *plexpoll.SalesInput) {
			in.Customer.Financials = plex.CustomerFinancials{SalesTaxExemptNo: "EX-OLD"}
		}, func(t *testing.T, ev events.OrderEvent) {
			if ev.Order.Customer.ExemptionNo != "" {
				t.Fatalf("customer %+v", ev.Order.Customer)
			}
		}},
		{"cancelled voids, case-insensitively", plexpoll.Settings{}, func(in *plexpoll.SalesInput) { in.Order.Status = "CANCELLED" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Action != events.VoidOrderTaxes || ev.Order.State != "CANCELLED" {
					t.Fatalf("action %s state %s", ev.Action, ev.Order.State)
				}
			}},
		{"configured cancel statuses", plexpoll.Settings{CancelStatuses: []string{"Void", "Closed-Lost"}}, func(in *plexpoll.SalesInput) { in.Order.Status = "closed-lost" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Action != events.VoidOrderTaxes {
					t.Fatalf("action %s", ev.Action)
				}
			}},
		{"cancelled is not void when not configured", plexpoll.Settings{CancelStatuses: []string{"Void"}}, func(in *plexpoll.SalesInput) { in.Order.Status = "Cancelled" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Action != events.RefreshOrderTaxes {
					t.Fatalf("action %s", ev.Action)
				}
			}},
		{"quantities: zero, negative, huge and fractional become 1", plexpoll.Settings{}, func(in *plexpoll.SalesInput) {
			in.Order.Lines = []plex.SalesOrderLine{{ID: "a", Quantity: dec("0")}, {ID: "b", Quantity: dec("-2")}, {ID: "c", Quantity: dec("0.999")},
				{ID: "d", Quantity: dec("7.000")}, {ID: "e", Quantity: dec("1e30")}}
		}, func(t *testing.T, ev events.OrderEvent) {
			var got []int64
			for _, it := range ev.Order.OrderItems {
				got = append(got, it.Quantity)
			}
			if len(got) != 5 || got[0] != 1 || got[1] != 1 || got[2] != 1 || got[3] != 7 || got[4] != 1 {
				t.Fatalf("quantities %v", got)
			}
		}},
		{"sales channel, prefix and tenant", plexpoll.Settings{SalesChannel: "plex-eu", DocumentPrefix: "ACM", Tenant: "0f6e2a4b-1111-2222"}, nil,
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.SalesChannel != "plex-eu" || ev.Order.DocumentCode != "ACM-0f6e2a4b-10001" || ev.Plex.Tenant != "0f6e2a4b-1111-2222" {
					t.Fatalf("channel %s code %s tenant %s", ev.Order.SalesChannel, ev.Order.DocumentCode, ev.Plex.Tenant)
				}
			}},
		{"document code truncated to 50", plexpoll.Settings{}, func(in *plexpoll.SalesInput) { in.Order.Number = strings.Repeat("9", 60) },
			func(t *testing.T, ev events.OrderEvent) {
				if c := ev.Order.DocumentCode; len(c) != 50 || !strings.HasPrefix(c, "PLEX-999") {
					t.Fatalf("code %q (%d)", c, len(c))
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := salesInput()
			if tc.modify != nil {
				tc.modify(&in)
			}
			ev, err := tc.s.Sales(in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, ev)
		})
	}
}

func TestSalesTranslationErrors(t *testing.T) {
	for name, modify := range map[string]func(*plexpoll.SalesInput){
		"no id":           func(in *plexpoll.SalesInput) { in.Order.ID = "" },
		"line without id": func(in *plexpoll.SalesInput) { in.Order.Lines[1].ID = "" },
		"duplicate line":  func(in *plexpoll.SalesInput) { in.Order.Lines[1].ID = "L-1" },
		"negative amount": func(in *plexpoll.SalesInput) { in.Order.Lines[0].Amount = dec("-1") },
	} {
		in := salesInput()
		modify(&in)
		if _, err := (plexpoll.Settings{}).Sales(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPurchaseOrder(t *testing.T) {
	ev, err := plexpoll.Settings{DefaultBuilding: "MAIN"}.Purchase(purchaseInput())
	if err != nil {
		t.Fatal(err)
	}
	o := ev.Order
	if o.ID != "plex-po-PO-1" || o.DocumentType != "PurchaseInvoice" || o.DocumentCode != "PLEX-PO-P-7" || o.Customer.ID != "STEELCO" ||
		o.Delivery.Destination.EndpointID != "BLDG-2" || o.Delivery.Destination.Address != nil || o.SalesChannel != "plex" || o.State != "Open" {
		t.Fatalf("order %+v", o)
	}
	if o.Origin == nil || o.Origin.City != "Gary" || o.Origin.Country != "US" || o.Origin.Lines[0] != "2 Forge Ave" {
		t.Fatalf("origin (SupplierAddressID SA-2): %+v", o.Origin)
	}
	if o.OrderItems[0].TaxCode != "PM010000" || o.OrderItems[1].TaxCode != "PS081282" || o.OrderItems[1].Quantity != 1 {
		t.Fatalf("items %+v", o.OrderItems)
	}
	if ev.Action != events.RefreshOrderTaxes || ev.Plex.Kind != events.PlexPurchaseOrder || ev.Plex.ID != "PO-1" || ev.Plex.Number != "P-7" {
		t.Fatalf("event %+v %+v", ev.Action, ev.Plex)
	}
}

func TestPurchaseTranslationRules(t *testing.T) {
	cases := []struct {
		name   string
		s      plexpoll.Settings
		modify func(*plexpoll.PurchaseInput)
		check  func(*testing.T, events.OrderEvent)
	}{
		{"tax code: line, then supplier default", plexpoll.Settings{DefaultTaxCode: "CFG"}, nil, func(t *testing.T, ev events.OrderEvent) {
			if ev.Order.OrderItems[0].TaxCode != "PM010000" || ev.Order.OrderItems[1].TaxCode != "PS081282" {
				t.Fatalf("items %+v", ev.Order.OrderItems)
			}
		}},
		{"tax code: configured default without supplier defaults", plexpoll.Settings{DefaultTaxCode: "CFG"}, func(in *plexpoll.PurchaseInput) { in.Defaults = nil },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.OrderItems[0].TaxCode != "PM010000" || ev.Order.OrderItems[1].TaxCode != "CFG" {
					t.Fatalf("items %+v", ev.Order.OrderItems)
				}
			}},
		{"tax code: configured default when the supplier default is empty", plexpoll.Settings{DefaultTaxCode: "CFG"}, func(in *plexpoll.PurchaseInput) { in.Defaults.DefaultTaxCode = "" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.OrderItems[1].TaxCode != "CFG" {
					t.Fatalf("items %+v", ev.Order.OrderItems)
				}
			}},
		{"tax code: empty without any default", plexpoll.Settings{}, func(in *plexpoll.PurchaseInput) { in.Defaults = nil },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.OrderItems[1].TaxCode != "" {
					t.Fatalf("items %+v", ev.Order.OrderItems)
				}
			}},
		{"origin: the first address without a supplier address id", plexpoll.Settings{}, func(in *plexpoll.PurchaseInput) { in.Order.SupplierAddressID = "" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.Origin == nil || ev.Order.Origin.City != "Pittsburgh" {
					t.Fatalf("origin %+v", ev.Order.Origin)
				}
			}},
		{"no building: the default building", plexpoll.Settings{DefaultBuilding: "MAIN"}, func(in *plexpoll.PurchaseInput) { in.Order.ShipTo = "" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.Delivery.Destination.EndpointID != "MAIN" {
					t.Fatalf("destination %+v", ev.Order.Delivery.Destination)
				}
			}},
		{"cancelled purchase voids", plexpoll.Settings{}, func(in *plexpoll.PurchaseInput) { in.Order.Status = "cancelled" },
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Action != events.VoidOrderTaxes {
					t.Fatalf("action %s", ev.Action)
				}
			}},
		{"prefix", plexpoll.Settings{DocumentPrefix: "ACM", Tenant: "tenant-123456789"}, nil,
			func(t *testing.T, ev events.OrderEvent) {
				if ev.Order.DocumentCode != "ACM-PO-P-7" {
					t.Fatalf("code %s", ev.Order.DocumentCode)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := purchaseInput()
			if tc.modify != nil {
				tc.modify(&in)
			}
			ev, err := tc.s.Purchase(in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, ev)
		})
	}
}

func TestFingerprint(t *testing.T) {
	base, err := plexpoll.Settings{}.Sales(salesInput())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := plexpoll.Fingerprint(base)
	if err != nil || len(fp) != 64 {
		t.Fatalf("fingerprint %q %v", fp, err)
	}
	// Version and the fingerprint itself do not count.
	same := base
	same.OrderVersion = 7
	p := *base.Plex
	p.Fingerprint = fp
	same.Plex = &p
	if got, _ := plexpoll.Fingerprint(same); got != fp {
		t.Fatal("fingerprint depends on the version or on itself")
	}
	if base.Plex.Fingerprint != "" {
		t.Fatal("Fingerprint changed its argument")
	}
	for name, modify := range map[string]func(*plexpoll.SalesInput){
		"address":    func(in *plexpoll.SalesInput) { in.Addresses[1].PostalCode = "98104" },
		"exemption":  func(in *plexpoll.SalesInput) { in.Customer.Financials.SalesTaxExempt = true },
		"amount":     func(in *plexpoll.SalesInput) { in.Order.Lines[0].Amount = dec("37.51") },
		"status":     func(in *plexpoll.SalesInput) { in.Order.Status = "Shipped" },
		"new line":   func(in *plexpoll.SalesInput) { in.Order.Lines = append(in.Order.Lines, plex.SalesOrderLine{ID: "L-3"}) },
		"tax code":   func(in *plexpoll.SalesInput) { in.Order.Lines[1].TaxCode = "X" },
		"cust. code": func(in *plexpoll.SalesInput) { in.Customer.Code = "ACME2" },
	} {
		in := salesInput()
		modify(&in)
		ev, err := plexpoll.Settings{}.Sales(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := plexpoll.Fingerprint(ev); got == fp {
			t.Errorf("%s: fingerprint unchanged", name)
		}
	}
	// What taxbridge does not send does not count.
	in := salesInput()
	in.Customer.Name = "Acme Renamed"
	in.Order.Lines[0].UnitPrice = dec("99")
	in.Order.Lines[0].Description = "new text"
	ev, _ := plexpoll.Settings{}.Sales(in)
	if got, _ := plexpoll.Fingerprint(ev); got != fp {
		t.Error("fingerprint changed with data taxbridge does not send")
	}
}

func TestFingerprintIgnoresHowAmountsAreWritten(t *testing.T) {
	ev, err := plexpoll.Settings{}.Sales(salesInput())
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := plexpoll.Fingerprint(ev)
	was := decimal.MarshalJSONWithoutQuotes
	defer func() { decimal.MarshalJSONWithoutQuotes = was }()
	decimal.MarshalJSONWithoutQuotes = !was
	if got, _ := plexpoll.Fingerprint(ev); got != fp {
		t.Fatal("the fingerprint depends on decimal.MarshalJSONWithoutQuotes")
	}
	decimal.MarshalJSONWithoutQuotes = was
	in := salesInput()
	in.Order.Lines[0].Amount = dec("37.5000")
	ev, _ = plexpoll.Settings{}.Sales(in)
	if got, _ := plexpoll.Fingerprint(ev); got != fp {
		t.Fatal("37.5000 and 37.50 fingerprint differently")
	}
}
