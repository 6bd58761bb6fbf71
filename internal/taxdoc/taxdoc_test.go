package taxdoc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// config returns the example configuration changed by edit.
func config(t *testing.T, edit func(c *taxconfig.Config)) *taxconfig.Config {
	t.Helper()
	c, err := taxconfig.Parse(taxconfig.Example)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// order is a web order of two items shipped to New York, not yet assigned.
func order() events.Order {
	return events.Order{
		ID: "O-1", Date: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), SalesChannel: "web",
		Customer: events.Customer{ID: "C-9"},
		Delivery: events.Delivery{Option: "standard", Destination: events.Destination{Address: &events.Address{
			Lines: []string{"350 5th Ave"}, City: "New York", ZipCode: "10118", Region: "NY", Country: "US"}}},
		OrderItems: []events.OrderItem{
			{ID: "OI-1", ItemID: "SKU-1", Quantity: 3, PricingDetails: events.ItemPricing{Price: d("30.00")},
				Features: map[string]map[string]string{
					"en": {"tax_code": "PC040100", "description": "Shirt", "hs_code": "6109.10"},
					"fr": {"tax_code": "PC040200", "description": "Chemise", "hs_code": "6109.90"},
				}},
			{ID: "OI-2", ItemID: "SKU-2", Quantity: 1, PricingDetails: events.ItemPricing{Price: d("10.00")}},
		},
		LineItemGroups: []events.LineItemGroup{
			{ID: "G-1", OrderItemID: "OI-1", Quantity: 2, State: "pending"},
			{ID: "G-2", OrderItemID: "OI-1", Quantity: 1, State: "pending"},
			{ID: "G-3", OrderItemID: "OI-2", Quantity: 1, State: "pending"},
		},
		ShippingFees: []events.ShippingFee{{ID: "F-1", DeliveryOption: "express", Price: d("7.50")}},
	}
}

func line(t *testing.T, doc avatax.CreateTransactionModel, number string) avatax.LineItemModel {
	t.Helper()
	i := slices.IndexFunc(doc.Lines, func(l avatax.LineItemModel) bool { return l.Number == number })
	if i < 0 {
		t.Fatalf("no line %s in %v", number, numbers(doc))
	}
	return doc.Lines[i]
}

func numbers(doc avatax.CreateTransactionModel) []string {
	var out []string
	for _, l := range doc.Lines {
		out = append(out, l.Number)
	}
	return out
}

// TestEverySettingShowsInTheDocument changes one setting at a time and
// checks the document it produces; each check fails if the setting is
// ignored (the default gives a different document).
func TestEverySettingShowsInTheDocument(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(c *taxconfig.Config)
		ord   func(o *events.Order)
		check func(t *testing.T, doc avatax.CreateTransactionModel)
	}{
		{"global removed_line_item_states", func(c *taxconfig.Config) {
			c.Global.RemovedLineItemStates = []string{"refused_by_customer"}
		}, func(o *events.Order) { o.LineItemGroups[1].State = "refused_by_customer" }, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if !slices.Equal(numbers(doc), []string{"G-1", "G-3", "SHIP-F-1"}) {
				t.Errorf("lines %v: the removed group G-2 must be left out", numbers(doc))
			}
		}},
		{"global estimation_stock_location", func(c *taxconfig.Config) {
			c.Global.EstimationStockLocation = "WH-AUSTIN"
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.Addresses.ShipFrom.PostalCode != "78701" || doc.ReportingLocationCode != "AUS-DC" {
				t.Errorf("ship-from %+v location %s, want the Austin warehouse", doc.Addresses.ShipFrom, doc.ReportingLocationCode)
			}
		}},
		{"global taxes_included_in_price", func(c *taxconfig.Config) { c.Global.TaxesIncludedInPrice = true }, nil,
			func(t *testing.T, doc avatax.CreateTransactionModel) {
				for _, l := range doc.Lines {
					if !l.TaxIncluded {
						t.Errorf("line %s: taxIncluded false", l.Number)
					}
				}
			}},
		{"sales channel estimation_stock_location", func(c *taxconfig.Config) {
			c.SalesChannels["web"] = taxconfig.SalesChannel{EstimationStockLocation: "STORE-SEATTLE"}
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.Addresses.ShipFrom.PostalCode != "98101" {
				t.Errorf("ship-from %+v, want the channel's Seattle store", doc.Addresses.ShipFrom)
			}
		}},
		{"sales channel taxes_included_in_price", func(c *taxconfig.Config) {
			yes := true
			c.SalesChannels["web"] = taxconfig.SalesChannel{TaxesIncludedInPrice: &yes}
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if !line(t, doc, "G-1").TaxIncluded {
				t.Error("taxIncluded false despite the channel override")
			}
		}},
		{"sales channel order_in_store", func(c *taxconfig.Config) {
			c.SalesChannels["web"] = taxconfig.SalesChannel{OrderInStore: true, EstimationStockLocation: "STORE-SEATTLE"}
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.Addresses.SingleLocation == nil || doc.Addresses.ShipTo != nil || doc.Addresses.SingleLocation.PostalCode != "98101" {
				t.Errorf("addresses %+v, want singleLocation at the store", doc.Addresses)
			}
		}},
		{"provider company_code", func(c *taxconfig.Config) { c.Provider.CompanyCode = "ACME-US" }, nil,
			func(t *testing.T, doc avatax.CreateTransactionModel) {
				if doc.CompanyCode != "ACME-US" {
					t.Errorf("companyCode %q", doc.CompanyCode)
				}
			}},
		{"provider default_location_code", func(c *taxconfig.Config) {
			c.Provider.DefaultLocationCode = "HQ"
			sl := c.StockLocations["WH-IRVINE"]
			sl.LocationCode = ""
			c.StockLocations["WH-IRVINE"] = sl
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.ReportingLocationCode != "HQ" {
				t.Errorf("reportingLocationCode %q, want the default HQ", doc.ReportingLocationCode)
			}
		}},
		{"stock location location_code", nil, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.ReportingLocationCode != "IRV-DC" {
				t.Errorf("reportingLocationCode %q, want the stock location's IRV-DC", doc.ReportingLocationCode)
			}
		}},
		{"provider use_endpoint_id_as_location_code", func(c *taxconfig.Config) {
			c.Provider.UseEndpointIDAsLocationCode = true
			c.Provider.DefaultLocationCode = "HQ"
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.ReportingLocationCode != "WH-IRVINE" {
				t.Errorf("reportingLocationCode %q, want the endpoint id WH-IRVINE", doc.ReportingLocationCode)
			}
		}},
		{"provider features_language", func(c *taxconfig.Config) { c.Provider.FeaturesLanguage = "fr" }, nil,
			func(t *testing.T, doc avatax.CreateTransactionModel) {
				l := line(t, doc, "G-1")
				if l.TaxCode != "PC040200" || l.Description != "Chemise" || l.HSCode != "6109.90" {
					t.Errorf("line %+v, want the French features", l)
				}
			}},
		{"provider tax_code_feature and default_tax_code", func(c *taxconfig.Config) {
			c.Provider.DefaultTaxCode = "P0000001"
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if line(t, doc, "G-1").TaxCode != "PC040100" || line(t, doc, "G-3").TaxCode != "P0000001" {
				t.Errorf("tax codes %q and %q, want the feature's then the default", line(t, doc, "G-1").TaxCode, line(t, doc, "G-3").TaxCode)
			}
		}},
		{"provider tax_code_feature renamed", func(c *taxconfig.Config) { c.Provider.TaxCodeFeature = "avalara_code" }, func(o *events.Order) {
			o.OrderItems[0].Features["en"]["avalara_code"] = "PC099999"
		}, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if got := line(t, doc, "G-1").TaxCode; got != "PC099999" {
				t.Errorf("tax code %q, want the avalara_code feature", got)
			}
		}},
		{"provider description_feature and default_description", func(c *taxconfig.Config) {
			c.Provider.DefaultDescription = "Goods"
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if line(t, doc, "G-1").Description != "Shirt" || line(t, doc, "G-3").Description != "Goods" {
				t.Errorf("descriptions %q and %q", line(t, doc, "G-1").Description, line(t, doc, "G-3").Description)
			}
		}},
		{"provider hs_code_feature and default_hs_code", func(c *taxconfig.Config) {
			c.Provider.DefaultHSCode = "9999.00"
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if line(t, doc, "G-1").HSCode != "6109.10" || line(t, doc, "G-3").HSCode != "9999.00" {
				t.Errorf("HS codes %q and %q", line(t, doc, "G-1").HSCode, line(t, doc, "G-3").HSCode)
			}
		}},
		{"provider shipping_fees per delivery option", nil, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			l := line(t, doc, "SHIP-F-1")
			if l.TaxCode != "FR020100" || l.ItemCode != "SHIPPING-EXPRESS" || !l.Amount.Equal(d("7.50")) {
				t.Errorf("shipping line %+v, want the express option's codes", l)
			}
		}},
		{"provider shipping_fees default", func(c *taxconfig.Config) {
			c.Provider.ShippingFees = map[string]taxconfig.ShippingFee{"default": {TaxCode: "FR000000", ItemCode: "FREIGHT"}}
		}, nil, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if l := line(t, doc, "SHIP-F-1"); l.TaxCode != "FR000000" || l.ItemCode != "FREIGHT" {
				t.Errorf("shipping line %+v, want the default codes", l)
			}
		}},
		{"stock_locations address per line (split shipment)", nil, func(o *events.Order) {
			o.LineItemGroups[0].EndpointID = "WH-IRVINE"
			o.LineItemGroups[2].EndpointID = "WH-AUSTIN"
		}, func(t *testing.T, doc avatax.CreateTransactionModel) {
			if doc.Addresses.ShipFrom.PostalCode != "92614" || line(t, doc, "G-1").Addresses != nil {
				t.Errorf("document ship-from %+v", doc.Addresses.ShipFrom)
			}
			if a := line(t, doc, "G-3").Addresses; a == nil || a.ShipFrom.PostalCode != "78701" || a.ShipTo.PostalCode != "10118" {
				t.Errorf("G-3 addresses %+v, want from Austin to New York", a)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMapper(config(t, tt.cfg))
			o := order()
			if tt.ord != nil {
				tt.ord(&o)
			}
			doc, err := m.Sale(&o, "O-1")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, doc)
		})
	}
}

func TestSaleBasics(t *testing.T) {
	m := NewMapper(config(t, nil))
	o := order()
	o.TaxesInformation = nil
	o.Customer.EntityUseCode = "G"
	doc, err := m.Sale(&o, "O-1")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Type != avatax.SalesInvoice || doc.Date != "2026-03-04" || doc.CustomerCode != "C-9" || doc.EntityUseCode != "G" || doc.CurrencyCode != "USD" {
		t.Errorf("header %+v", doc)
	}
	// 3 units for 30.00: two of them are 20.00, one is 10.00.
	if !line(t, doc, "G-1").Amount.Equal(d("20")) || !line(t, doc, "G-2").Amount.Equal(d("10")) || !line(t, doc, "G-1").Quantity.Equal(d("2")) {
		t.Errorf("group amounts %s and %s", line(t, doc, "G-1").Amount, line(t, doc, "G-2").Amount)
	}
	if doc.Addresses.ShipTo.PostalCode != "10118" || doc.Addresses.ShipFrom.PostalCode != "92614" {
		t.Errorf("addresses %+v", doc.Addresses)
	}
	for i := range o.LineItemGroups {
		o.LineItemGroups[i].State = "cancelled"
	}
	if _, err := m.Sale(&o, "O-1"); !errors.Is(err, ErrNothingToTax) {
		t.Errorf("all groups removed: err %v, want ErrNothingToTax", err)
	}
}

func TestECommerceLinesAreNamedByTheirIDs(t *testing.T) {
	m := NewMapper(config(t, nil))
	o := order()
	o.TaxesInformation = &events.TaxesInformation{ProviderTransactionID: "shop-123", ExemptionCode: "EX-7"}
	o.OrderItems[0].PricingDetails.Taxes = []events.TaxID{{ID: "1"}}
	o.OrderItems[1].PricingDetails.Taxes = []events.TaxID{{ID: "2"}}
	o.ShippingFees[0].Taxes = []events.TaxID{{ID: "3"}}
	o.LineItemGroups[1].State = "cancelled" // one of OI-1's three units
	doc, err := m.Sale(&o, "shop-123")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(numbers(doc), []string{"1", "2", "3"}) || doc.ExemptionNo != "EX-7" || doc.Code != "shop-123" {
		t.Fatalf("lines %v exemption %q code %q", numbers(doc), doc.ExemptionNo, doc.Code)
	}
	if l := line(t, doc, "1"); !l.Quantity.Equal(d("2")) || !l.Amount.Equal(d("20")) {
		t.Errorf("order item line %+v: want the 2 units not removed", l)
	}
	refs := LineRefs(&o)
	if refs["1"] != (LineRef{events.OrderItemLine, "OI-1"}) || refs["3"] != (LineRef{events.ShippingFeeLine, "F-1"}) {
		t.Errorf("refs %v", refs)
	}
	o.OrderItems[1].PricingDetails.Taxes = nil
	var de *DataError
	if _, err := m.Sale(&o, "shop-123"); !errors.As(err, &de) || de.Field != "/data/order/order_items/1/pricing_details/taxes" {
		t.Errorf("missing line id: %v", err)
	}
}

func TestReturnRefundsOnlyTheReturnedGroups(t *testing.T) {
	m := NewMapper(config(t, nil))
	o := order()
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	ret, _, err := m.Return(&o, "O-1", &events.Return{ID: "R", LineItemGroupIDs: []string{"G-2"}, RefundShipping: true}, "O-1-R1", at, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ret.Type != avatax.ReturnInvoice || ret.Code != "O-1-R1" || ret.Date != "2026-04-01" || !ret.Commit || ret.ReferenceCode != "O-1" {
		t.Errorf("header %+v", ret)
	}
	if ret.TaxOverride == nil || ret.TaxOverride.Type != avatax.OverrideTaxDate || ret.TaxOverride.TaxDate != "2026-03-04" {
		t.Errorf("tax override %+v, want the sale's date", ret.TaxOverride)
	}
	if !slices.Equal(numbers(ret), []string{"G-2", "SHIP-F-1"}) || !line(t, ret, "G-2").Amount.Equal(d("-10")) || !line(t, ret, "SHIP-F-1").Amount.Equal(d("-7.5")) {
		b, _ := json.Marshal(ret.Lines)
		t.Errorf("lines %s", b)
	}
	noShip, _, _ := m.Return(&o, "O-1", &events.Return{ID: "R", LineItemGroupIDs: []string{"G-2"}}, "O-1-R1", at, nil)
	if !slices.Equal(numbers(noShip), []string{"G-2"}) {
		t.Errorf("without refund_shipping: %v", numbers(noShip))
	}
	var de *DataError
	if _, _, err := m.Return(&o, "O-1", &events.Return{ID: "R", LineItemGroupIDs: []string{"G-9"}}, "O-1-R1", at, nil); !errors.As(err, &de) || de.Field != "/data/return/line_item_group_ids/0" {
		t.Errorf("unknown group: %v", err)
	}
	o.LineItemGroups[0].State = "cancelled"
	if _, _, err := m.Return(&o, "O-1", &events.Return{ID: "R", LineItemGroupIDs: []string{"G-1"}}, "O-1-R1", at, nil); !errors.As(err, &de) {
		t.Errorf("removed group refunded: %v", err)
	}
}

func TestCommitable(t *testing.T) {
	m := NewMapper(config(t, nil))
	ship := func(state string, groups ...int) events.Order {
		o := order()
		o.Parcels = []events.Parcel{{ID: "P", State: state}}
		for _, i := range groups {
			o.LineItemGroups[i].ParcelID = "P"
		}
		return o
	}
	allRemovedButParcel := ship("dispatched", 0, 1)
	allRemovedButParcel.LineItemGroups[2].State = "cancelled"
	ois := order()
	ois.SalesChannel = "ois"
	tests := []struct {
		name string
		o    events.Order
		want bool
	}{
		{"nothing shipped", order(), false},
		{"all in a dispatched parcel", ship("dispatched", 0, 1, 2), true},
		{"parcel not yet commitable", ship("packed", 0, 1, 2), false},
		{"a group outside any parcel", ship("dispatched", 0, 1), false},
		{"the group outside is removed", allRemovedButParcel, true},
		{"order in store", ois, true},
	}
	for _, tt := range tests {
		if got := m.Commitable(&tt.o); got != tt.want {
			t.Errorf("%s: commitable %v, want %v", tt.name, got, tt.want)
		}
	}
	strict := NewMapper(config(t, func(c *taxconfig.Config) { c.Global.CommitableParcelStates = []string{"delivered"} }))
	o := ship("dispatched", 0, 1, 2)
	if strict.Commitable(&o) {
		t.Error("commitable_parcel_states [delivered] ignored: a dispatched parcel committed")
	}
}

// TestHashIsStable: records keep the hash of the last document sent, and a
// refresh whose hash differs adjusts the document, so the hash of the same
// content must not change across versions. It is the hash of encoding/json's
// bytes with the commit flag cleared, as it always was.
func TestHashIsStable(t *testing.T) {
	m := NewMapper(config(t, nil))
	o := order()
	doc, err := m.Sale(&o, "O-1")
	if err != nil {
		t.Fatal(err)
	}
	doc.Description = `<b> & "é" \u2028`
	doc.Commit = true
	plain := doc
	plain.Commit = false
	b, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got, want := Hash(doc), hex.EncodeToString(sum[:12]); got != want {
		t.Errorf("Hash = %s, want %s (encoding/json's bytes)", got, want)
	}
}
