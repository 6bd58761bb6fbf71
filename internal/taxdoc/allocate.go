package taxdoc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/money"
)

// An order item's price is the row total for its whole quantity. Split over
// line item groups, parcels and returns, its parts must add up to it to the
// cent, or reconciliation against the OMS finds a cent on every such order.
// The split is a function of the quantities and the group ids only, so it
// does not depend on the order in which groups arrive or are returned.

// itemSale is how an order item's row total falls on its units sold (its
// line item groups not removed).
type itemSale struct {
	Units  int64
	Amount decimal.Decimal
	// Groups is the amount of each group sold, by group id.
	Groups map[string]decimal.Decimal
}

// allocate splits every order item's row total, rounded to cents: first
// between the units sold and those removed, by quantity, then the part sold
// over the groups sold, by quantity, in the order of their ids.
func (m *Mapper) allocate(o *events.Order) (map[string]itemSale, error) {
	type group struct {
		id  string
		qty int64
	}
	held := make(map[string]int64, len(o.OrderItems))
	sold := make(map[string][]group, len(o.OrderItems))
	for i, g := range o.LineItemGroups {
		item, ok := o.Item(g.OrderItemID)
		if !ok {
			return nil, &DataError{fmt.Sprintf("/data/order/line_item_groups/%d/order_item_id", i),
				fmt.Sprintf("order item %q does not exist in the order", g.OrderItemID)}
		}
		held[item.ID] += g.Quantity
		if item.Quantity > 0 && held[item.ID] > item.Quantity {
			return nil, &DataError{fmt.Sprintf("/data/order/line_item_groups/%d/quantity", i),
				fmt.Sprintf("the line item groups of order item %q hold %d units, more than its quantity %d", item.ID, held[item.ID], item.Quantity)}
		}
		if !m.cfg.IsRemoved(g.State) {
			sold[item.ID] = append(sold[item.ID], group{g.ID, g.Quantity})
		}
	}
	out := make(map[string]itemSale, len(o.OrderItems))
	for _, item := range o.OrderItems {
		groups := sold[item.ID]
		units := int64(0)
		for _, g := range groups {
			units += g.qty
		}
		whole := max(item.Quantity, held[item.ID])
		amount := money.Allocate(item.PricingDetails.Price, []int64{units, whole - units})[0]
		slices.SortFunc(groups, func(a, b group) int { return strings.Compare(a.id, b.id) })
		qtys := make([]int64, len(groups))
		for i, g := range groups {
			qtys[i] = g.qty
		}
		s := itemSale{Units: units, Amount: amount, Groups: make(map[string]decimal.Decimal, len(groups))}
		for i, part := range money.Allocate(amount, qtys) {
			s.Groups[groups[i].id] = part
		}
		out[item.ID] = s
	}
	return out, nil
}

// Refund is what one return took back: units and amount per order item,
// and the shipping fees. The worker keeps it with the return, and each
// later return of the order is bounded by what the earlier ones took, so
// that returns never refund more than was sold.
type Refund struct {
	Groups []string       `json:"groups,omitempty"` // line item group ids
	Items  []RefundedItem `json:"items,omitempty"`
	Fees   []string       `json:"fees,omitempty"`
}

// RefundedItem is the part of an order item a return took back.
type RefundedItem struct {
	OrderItemID string          `json:"order_item_id"`
	Quantity    int64           `json:"quantity"`
	Amount      decimal.Decimal `json:"amount"` // positive
}

// refund works out what a return takes back, by line item group (positive
// amounts). A returned group refunds what it was sold for. Bounded by the
// earlier refunds, an order item never gives back more than it was sold
// for, and the return that gives back its last units gives back exactly
// the rest: all the returns of an item together refund its sale to the
// cent, whatever their number, order or splits.
func refund(o *events.Order, sales map[string]itemSale, groupIDs []string, earlier []Refund) (map[string]decimal.Decimal, []RefundedItem) {
	type taken struct {
		units  int64
		amount decimal.Decimal
	}
	before := map[string]taken{}
	for _, r := range earlier {
		for _, it := range r.Items {
			t := before[it.OrderItemID]
			before[it.OrderItemID] = taken{t.units + it.Quantity, t.amount.Add(it.Amount)}
		}
	}
	var items []string
	byItem := map[string][]events.LineItemGroup{}
	for _, g := range o.LineItemGroups {
		if !slices.Contains(groupIDs, g.ID) {
			continue
		}
		if _, ok := byItem[g.OrderItemID]; !ok {
			items = append(items, g.OrderItemID)
		}
		byItem[g.OrderItemID] = append(byItem[g.OrderItemID], g)
	}
	amounts := make(map[string]decimal.Decimal, len(groupIDs))
	var out []RefundedItem
	for _, id := range items {
		sale, groups, prior := sales[id], byItem[id], before[id]
		units, asked := int64(0), money.Zero
		qtys := make([]int64, len(groups))
		for i, g := range groups {
			units += g.Quantity
			qtys[i] = g.Quantity
			asked = asked.Add(sale.Groups[g.ID])
		}
		rest := decimal.Max(sale.Amount.Sub(prior.amount), money.Zero)
		amount := decimal.Min(asked, rest)
		if prior.units+units >= sale.Units {
			amount = rest // the last units take what is left
		}
		parts := money.Allocate(amount, qtys)
		for i, g := range groups {
			if amount.Equal(asked) {
				amounts[g.ID] = sale.Groups[g.ID]
			} else {
				amounts[g.ID] = parts[i]
			}
		}
		out = append(out, RefundedItem{OrderItemID: id, Quantity: units, Amount: amount})
	}
	return amounts, out
}
