package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
)

// field is what the worker publishes as the tax_error's field for an
// invalid event: the pointer of its first problem.
func field(err error) string {
	var ie *events.InvalidError
	if !errors.As(err, &ie) || len(ie.Problems) == 0 {
		return ""
	}
	f, _, _ := strings.Cut(ie.Problems[0], ": ")
	return f
}

// TestInboundRefusesWhatIsWrongForTax checks that data that is valid JSON
// but wrong for tax is an invalid event naming the field, whichever
// path sees it, and that the fast path never vouches for it.
func TestInboundRefusesWhatIsWrongForTax(t *testing.T) {
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	base := generic(t, corpus(t)["full "+string(events.RefreshOrderTaxes)])
	order := func(doc map[string]any) map[string]any {
		return doc["data"].(map[string]any)["order"].(map[string]any)
	}
	at := func(list string, i int) func(doc map[string]any) map[string]any {
		return func(doc map[string]any) map[string]any { return order(doc)[list].([]any)[i].(map[string]any) }
	}
	item, group, fee := at("order_items", 0), at("line_item_groups", 0), at("shipping_fees", 0)
	pricing := func(doc map[string]any) map[string]any { return item(doc)["pricing_details"].(map[string]any) }
	const itemPrice = "/data/order/order_items/0/pricing_details/price"
	tests := []struct {
		name   string
		member func(doc map[string]any) map[string]any
		key    string
		value  any
		field  string // "" when the event is valid
	}{
		{"negative price", pricing, "price", json.Number("-0.01"), itemPrice},
		{"negative price as a string", pricing, "price", "-12.50", itemPrice},
		{"negative price with an exponent", pricing, "price", json.Number("-1e2"), itemPrice},
		{"negative unit price", pricing, "unit_price", json.Number("-3"), "/data/order/order_items/0/pricing_details/unit_price"},
		{"negative unit price as a string", pricing, "unit_price", "-3.00", "/data/order/order_items/0/pricing_details/unit_price"},
		{"zero item quantity", item, "quantity", json.Number("0"), "/data/order/order_items/0/quantity"},
		{"negative item quantity", item, "quantity", json.Number("-2"), "/data/order/order_items/0/quantity"},
		{"zero group quantity", group, "quantity", json.Number("0"), "/data/order/line_item_groups/0/quantity"},
		{"negative group quantity", group, "quantity", json.Number("-1"), "/data/order/line_item_groups/0/quantity"},
		{"negative shipping fee", fee, "price", json.Number("-5"), "/data/order/shipping_fees/0/price"},
		{"negative shipping fee as a string", fee, "price", "-5.00", "/data/order/shipping_fees/0/price"},
		{"price out of range", pricing, "price", json.Number("1e1001"), itemPrice},
		{"price string too long", pricing, "price", strings.Repeat("9", 1001), itemPrice},
		{"number out of range anywhere", order, "note", json.Number("1e99999999"), "/data/order/note"},
		// The boundaries stay valid.
		{"free item", pricing, "price", json.Number("0"), ""},
		{"free item as a string", pricing, "price", "0.00", ""},
		{"minus zero", pricing, "price", json.Number("-0"), ""},
		{"free shipping", fee, "price", json.Number("0.0"), ""},
		{"one unit", group, "quantity", json.Number("1"), ""},
		{"largest price", pricing, "price", json.Number("1e999"), ""},
		{"longest price string", pricing, "price", strings.Repeat("9", 1000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := deepCopy(base).(map[string]any)
			tt.member(doc)[tt.key] = tt.value
			raw := marshal(t, doc)
			_, err := v.Inbound(raw)
			if got := field(err); got != tt.field {
				t.Fatalf("Inbound: %v\nfield %q, want %q", err, got, tt.field)
			}
			if _, ok := v.QuickInbound(raw); ok && tt.field != "" {
				t.Errorf("the fast path vouched for it")
			}
		})
	}
}

// TestSchemaPathMatchesNamesExactly checks that the schema path decodes
// only what the schema checked: a member whose name differs in case is
// unknown to both, and a name given twice is refused, naming it. (A null
// elsewhere keeps the fast path out.)
func TestSchemaPathMatchesNamesExactly(t *testing.T) {
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	raw := string(corpus(t)[string(events.RefreshOrderTaxes)])
	raw = strings.Replace(raw, `"specversion"`, `"extension":null,"specversion"`, 1)
	upper := strings.Replace(raw, `"price":`, `"PRICE":-5,"price":`, 1)
	in, err := v.Inbound([]byte(upper))
	if err != nil {
		t.Fatal(err)
	}
	if p := in.Data.Order.OrderItems[0].PricingDetails.Price; p.IsNegative() {
		t.Errorf("price %s: taken from PRICE, which the schema never checked", p)
	}
	twice := strings.Replace(raw, `"price":`, `"price":-5,"price":`, 1)
	if _, err := v.Inbound([]byte(twice)); field(err) != "/data/order/order_items/0/pricing_details/price" {
		t.Errorf("price given twice: %v", err)
	}
}
