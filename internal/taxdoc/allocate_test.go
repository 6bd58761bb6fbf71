package taxdoc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/money"
)

var returnDay = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

// split25 is an order of a 2-unit item at 25.01 split one unit per parcel,
// a 1-unit item at 30.00 and no shipping: worth 55.01.
func split25() events.Order {
	o := order()
	o.OrderItems = []events.OrderItem{
		{ID: "OI-1", ItemID: "SKU-1", Quantity: 2, PricingDetails: events.ItemPricing{Price: d("25.01")}},
		{ID: "OI-2", ItemID: "SKU-2", Quantity: 1, PricingDetails: events.ItemPricing{Price: d("30.00")}},
	}
	o.LineItemGroups = []events.LineItemGroup{
		{ID: "G-1", OrderItemID: "OI-1", Quantity: 1, State: "fulfilled", ParcelID: "P-1"},
		{ID: "G-2", OrderItemID: "OI-1", Quantity: 1, State: "fulfilled", ParcelID: "P-2"},
		{ID: "G-3", OrderItemID: "OI-2", Quantity: 1, State: "fulfilled", ParcelID: "P-2"},
	}
	o.ShippingFees = nil
	return o
}

func total(doc avatax.CreateTransactionModel) decimal.Decimal {
	sum := money.Zero
	for _, l := range doc.Lines {
		sum = sum.Add(l.Amount)
	}
	return sum
}

// returnAll refunds the returns in turn, each bounded by the earlier ones,
// as the worker does, and gives their documents.
func returnAll(t *testing.T, m *Mapper, o *events.Order, returns ...events.Return) []avatax.CreateTransactionModel {
	t.Helper()
	var earlier []Refund
	var docs []avatax.CreateTransactionModel
	for i, r := range returns {
		doc, taken, err := m.Return(o, "O-1", &r, fmt.Sprintf("O-1-R%d", i+1), returnDay, earlier)
		if err != nil {
			t.Fatalf("return %s: %v", r.ID, err)
		}
		earlier = append(earlier, taken)
		docs = append(docs, doc)
	}
	return docs
}

func TestPricesSplitOverGroupsAddUp(t *testing.T) {
	m := NewMapper(config(t, nil))
	tests := []struct {
		name   string
		order  func(o *events.Order)
		amount map[string]string // by line number
		sum    string
	}{
		{"one unit per parcel", nil, map[string]string{"G-1": "12.51", "G-2": "12.50", "G-3": "30"}, "55.01"},
		{"the groups arrive in another order", func(o *events.Order) { slices.Reverse(o.LineItemGroups) },
			map[string]string{"G-1": "12.51", "G-2": "12.50", "G-3": "30"}, "55.01"},
		{"a unit cancelled", func(o *events.Order) { o.LineItemGroups[0].State = "cancelled" },
			map[string]string{"G-2": "12.51", "G-3": "30"}, "42.51"},
		{"three units over 10.00", func(o *events.Order) {
			o.OrderItems[0].Quantity, o.OrderItems[0].PricingDetails.Price = 3, d("10")
			o.LineItemGroups = append(o.LineItemGroups, events.LineItemGroup{ID: "G-0", OrderItemID: "OI-1", Quantity: 1, State: "fulfilled"})
		}, map[string]string{"G-0": "3.34", "G-1": "3.33", "G-2": "3.33", "G-3": "30"}, "40"},
		{"four-decimal price", func(o *events.Order) { o.OrderItems[0].PricingDetails.Price = d("25.0150") },
			map[string]string{"G-1": "12.51", "G-2": "12.51", "G-3": "30"}, "55.02"},
		{"unit price is not rounded per group", func(o *events.Order) {
			o.OrderItems[0].Quantity, o.OrderItems[0].PricingDetails.Price = 3, d("25.00")
			up := d("8.3333")
			o.OrderItems[0].PricingDetails.UnitPrice = &up
			o.LineItemGroups[0].Quantity = 2
		}, map[string]string{"G-1": "16.67", "G-2": "8.33", "G-3": "30"}, "55"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := split25()
			if tt.order != nil {
				tt.order(&o)
			}
			doc, err := m.Sale(&o, "O-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Lines) != len(tt.amount) {
				t.Fatalf("lines %v, want %d", numbers(doc), len(tt.amount))
			}
			for n, want := range tt.amount {
				if got := line(t, doc, n).Amount; !got.Equal(d(want)) {
					t.Errorf("line %s: amount %s, want %s", n, got, want)
				}
			}
			if !total(doc).Equal(d(tt.sum)) {
				t.Errorf("document total %s, want %s", total(doc), tt.sum)
			}
		})
	}
}

func TestReturnsRefundWhatWasSold(t *testing.T) {
	m := NewMapper(config(t, nil))
	ship := func(o *events.Order) {
		o.ShippingFees = []events.ShippingFee{{ID: "F-1", Price: d("4.99")}}
	}
	ret := func(id string, ship bool, groups ...string) events.Return {
		return events.Return{ID: id, LineItemGroupIDs: groups, RefundShipping: ship}
	}
	tests := []struct {
		name    string
		order   func(o *events.Order)
		returns []events.Return
		want    []string // each return's total
	}{
		{"two single-unit returns", nil, []events.Return{ret("A", false, "G-1"), ret("B", false, "G-2")}, []string{"-12.51", "-12.50"}},
		{"the same returns the other way round", nil, []events.Return{ret("B", false, "G-2"), ret("A", false, "G-1")}, []string{"-12.50", "-12.51"}},
		{"one return of everything", nil, []events.Return{ret("A", false, "G-1", "G-2", "G-3")}, []string{"-55.01"}},
		{"shipping asked back twice is refunded once", ship,
			[]events.Return{ret("A", true, "G-1"), ret("B", true, "G-2", "G-3")}, []string{"-17.50", "-42.50"}},
		{"a group split after the sale", func(o *events.Order) {
			// 3 units at 10.00 sold as G-1 (2 units, 6.67) and G-2 (1 unit, 3.33);
			// then G-1 is split for a partial return.
			o.OrderItems[0].Quantity, o.OrderItems[0].PricingDetails.Price = 3, d("10")
			o.LineItemGroups[0].Quantity = 2
		}, nil, nil},
	}
	for _, tt := range tests[:len(tests)-1] {
		t.Run(tt.name, func(t *testing.T) {
			o := split25()
			if tt.order != nil {
				tt.order(&o)
			}
			docs := returnAll(t, m, &o, tt.returns...)
			for i, doc := range docs {
				if !total(doc).Equal(d(tt.want[i])) {
					t.Errorf("return %s refunds %s, want %s", tt.returns[i].ID, total(doc), tt.want[i])
				}
			}
		})
	}
	t.Run("what earlier returns took bounds a later one", func(t *testing.T) {
		// An earlier return took 30.00 of the item's 50.00 (the OMS had
		// another price then): G-2 may give back only the 20.00 left, not
		// its 25.00, though a unit is still to come back.
		o := split25()
		o.OrderItems[0].Quantity, o.OrderItems[0].PricingDetails.Price = 4, d("50")
		o.LineItemGroups[1].Quantity = 2
		o.LineItemGroups = append(o.LineItemGroups, events.LineItemGroup{ID: "G-4", OrderItemID: "OI-1", Quantity: 1, State: "fulfilled"})
		earlier := []Refund{{Groups: []string{"G-1"}, Items: []RefundedItem{{OrderItemID: "OI-1", Quantity: 1, Amount: d("30")}}}}
		doc, _, err := m.Return(&o, "O-1", &events.Return{ID: "B", LineItemGroupIDs: []string{"G-2"}}, "O-1-R2", returnDay, earlier)
		if err != nil {
			t.Fatal(err)
		}
		if !total(doc).Equal(d("-20")) {
			t.Errorf("G-2 refunds %s after 30.00 of 50.00 went back, want -20.00", total(doc))
		}
	})
	t.Run("a group returned twice is refused", func(t *testing.T) {
		o := split25()
		_, taken, err := m.Return(&o, "O-1", &events.Return{ID: "A", LineItemGroupIDs: []string{"G-1"}}, "O-1-R1", returnDay, nil)
		if err != nil {
			t.Fatal(err)
		}
		var de *DataError
		_, _, err = m.Return(&o, "O-1", &events.Return{ID: "B", LineItemGroupIDs: []string{"G-3", "G-1"}}, "O-1-R2", returnDay, []Refund{taken})
		if !errors.As(err, &de) || de.Field != "/data/return/line_item_group_ids/1" {
			t.Errorf("G-1 refunded a second time: err %v, want a data error naming it", err)
		}
	})
	t.Run(tests[len(tests)-1].name, func(t *testing.T) {
		o := split25()
		tests[len(tests)-1].order(&o)
		sale, err := m.Sale(&o, "O-1")
		if err != nil {
			t.Fatal(err)
		}
		if got := line(t, sale, "G-1").Amount; !got.Equal(d("6.67")) {
			t.Fatalf("G-1 sold for %s, want 6.67", got)
		}
		var earlier []Refund
		first, taken, err := m.Return(&o, "O-1", &events.Return{ID: "A", LineItemGroupIDs: []string{"G-2"}}, "O-1-R1", returnDay, nil)
		if err != nil || !total(first).Equal(d("-3.33")) {
			t.Fatalf("return of G-2: %s, %v; want -3.33", total(first), err)
		}
		earlier = append(earlier, taken)
		o.LineItemGroups[0].Quantity = 1
		o.LineItemGroups = append(o.LineItemGroups, events.LineItemGroup{ID: "G-1b", OrderItemID: "OI-1", Quantity: 1, State: "fulfilled"})
		docs := []avatax.CreateTransactionModel{first}
		for i, id := range []string{"G-1b", "G-1"} {
			doc, taken, err := m.Return(&o, "O-1", &events.Return{ID: id, LineItemGroupIDs: []string{id}}, fmt.Sprintf("O-1-R%d", i+2), returnDay, earlier)
			if err != nil {
				t.Fatal(err)
			}
			earlier = append(earlier, taken)
			docs = append(docs, doc)
		}
		refunded := money.Zero
		for _, doc := range docs {
			refunded = refunded.Add(total(doc))
		}
		if !refunded.Equal(d("-10")) {
			t.Errorf("the three returns refund %s, want the -10.00 the item was sold for", refunded)
		}
	})
}

// TestAmountsAddUpForAnyOrder is the property behind the two tests above:
// for random orders (quantities, prices with 2 and 4 decimals, splits over
// parcels, groups in any order, partial cancels) the sale adds up to the
// order's total, each group gets its share within a cent, and any number
// of returns, in any order, with groups split between them, refunds
// exactly the sale and never more.
func TestAmountsAddUpForAnyOrder(t *testing.T) {
	m := NewMapper(config(t, nil))
	r := rand.New(rand.NewPCG(15, 1))
	for n := range 2000 {
		o, cancels := randomOrder(r)
		sale, err := m.Sale(&o, "O-1")
		if err != nil {
			t.Fatalf("order %d: %v", n, err)
		}
		want := money.Zero
		for _, it := range o.OrderItems {
			want = want.Add(money.Round2(it.PricingDetails.Price))
		}
		for _, f := range o.ShippingFees {
			want = want.Add(f.Price)
		}
		if !cancels && !total(sale).Equal(want) {
			t.Fatalf("order %d: sale totals %s, the order is worth %s\n%+v", n, total(sale), want, o)
		}
		for _, g := range o.LineItemGroups {
			it, _ := o.Item(g.OrderItemID)
			exact := money.Round2(it.PricingDetails.Price).Mul(decimal.NewFromInt(g.Quantity)).Div(decimal.NewFromInt(it.Quantity))
			if i := slices.IndexFunc(sale.Lines, func(l avatax.LineItemModel) bool { return l.Number == g.ID }); i >= 0 &&
				sale.Lines[i].Amount.Sub(exact).Abs().GreaterThanOrEqual(d("0.02")) {
				t.Fatalf("order %d: group %s sold for %s, its share is %s", n, g.ID, sale.Lines[i].Amount, exact)
			}
		}
		shuffled := o
		shuffled.LineItemGroups = slices.Clone(o.LineItemGroups)
		r.Shuffle(len(shuffled.LineItemGroups), func(i, j int) {
			shuffled.LineItemGroups[i], shuffled.LineItemGroups[j] = shuffled.LineItemGroups[j], shuffled.LineItemGroups[i]
		})
		again, _ := m.Sale(&shuffled, "O-1")
		for _, l := range sale.Lines {
			if !line(t, again, l.Number).Amount.Equal(l.Amount) {
				t.Fatalf("order %d: line %s is %s, or %s when the groups arrive in another order", n, l.Number, l.Amount, line(t, again, l.Number).Amount)
			}
		}

		// Return every unit sold, in random returns, sometimes splitting
		// a group between two of them.
		refunded, returns := money.Zero, 0
		var earlier []Refund
		for {
			var sold []int
			for i, g := range o.LineItemGroups {
				if !m.cfg.IsRemoved(g.State) && g.State != "returned" {
					sold = append(sold, i)
				}
			}
			if len(sold) == 0 {
				break
			}
			r.Shuffle(len(sold), func(i, j int) { sold[i], sold[j] = sold[j], sold[i] })
			pick := sold[:1+r.IntN(len(sold))]
			if g := &o.LineItemGroups[pick[0]]; g.Quantity > 1 && r.IntN(3) == 0 {
				// The OMS splits the group: one unit is returned, the rest stays.
				rest := *g
				rest.ID, rest.Quantity = g.ID+"-rest", g.Quantity-1
				g.Quantity = 1
				o.LineItemGroups = append(o.LineItemGroups, rest)
			}
			ret := events.Return{ID: fmt.Sprint(returns), RefundShipping: r.IntN(2) == 0}
			for _, i := range pick {
				ret.LineItemGroupIDs = append(ret.LineItemGroupIDs, o.LineItemGroups[i].ID)
				o.LineItemGroups[i].State = "returned"
			}
			returns++
			doc, taken, err := m.Return(&o, "O-1", &ret, fmt.Sprintf("O-1-R%d", returns), returnDay, earlier)
			if err != nil {
				t.Fatalf("order %d, return %d: %v", n, returns, err)
			}
			earlier = append(earlier, taken)
			refunded = refunded.Add(total(doc))
			if refunded.Neg().GreaterThan(total(sale)) {
				t.Fatalf("order %d: %d returns refund %s, more than the sale's %s", n, returns, refunded, total(sale))
			}
		}
		shipping := slices.ContainsFunc(earlier, func(e Refund) bool { return len(e.Fees) > 0 })
		want = total(sale)
		if !shipping {
			for _, f := range o.ShippingFees {
				want = want.Sub(f.Price)
			}
		}
		if !refunded.Neg().Equal(want) {
			t.Fatalf("order %d: %d returns refund %s, the sale was %s", n, returns, refunded, want)
		}
	}
}

// randomOrder is an order of 1-4 items, 1-6 units each at a price with 2 or
// 4 decimals, split over groups with ids in no particular order, some of
// them cancelled, and 0-2 shipping fees. It reports whether a group is
// cancelled.
func randomOrder(r *rand.Rand) (events.Order, bool) {
	o := order()
	o.OrderItems, o.LineItemGroups, o.ShippingFees = nil, nil, nil
	cancels := false
	for i := range 1 + r.IntN(4) {
		qty := int64(1 + r.IntN(6))
		places := []int32{2, 4}[r.IntN(2)]
		price := decimal.New(1+r.Int64N(20000*pow10(places-2)), -places)
		it := events.OrderItem{ID: fmt.Sprintf("OI-%d", i), ItemID: "SKU", Quantity: qty, PricingDetails: events.ItemPricing{Price: price}}
		if r.IntN(2) == 0 {
			up := price.Div(decimal.NewFromInt(qty)).Round(4)
			it.PricingDetails.UnitPrice = &up
		}
		o.OrderItems = append(o.OrderItems, it)
		for left := qty; left > 0; {
			q := 1 + r.Int64N(left)
			left -= q
			g := events.LineItemGroup{ID: fmt.Sprintf("G-%x", r.Uint32()), OrderItemID: it.ID, Quantity: q, State: "fulfilled"}
			if r.IntN(6) == 0 {
				g.State, cancels = "cancelled", true
			}
			o.LineItemGroups = append(o.LineItemGroups, g)
		}
	}
	if !slices.ContainsFunc(o.LineItemGroups, func(g events.LineItemGroup) bool { return g.State != "cancelled" }) {
		o.LineItemGroups[0].State = "fulfilled"
	}
	for i := range r.IntN(3) {
		o.ShippingFees = append(o.ShippingFees, events.ShippingFee{ID: fmt.Sprint("F-", i), Price: decimal.New(r.Int64N(2000), -2)})
	}
	return o, cancels
}

func pow10(n int32) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
