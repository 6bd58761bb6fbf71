// Package scenario builds the OneStock order flows taxbridge is measured
// on, as the sequences of events an OMS publishes. The demo, the end-to-end
// tests and the benchmarks share them.
package scenario

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
)

// Flow is one order's life as a sequence of events.
type Flow struct {
	Name        string
	Description string
	OrderID     string
	Events      []events.Envelope
	// Final is the state the order's tax must end in.
	Final lifecycle.State
	// Calls is the least number of AvaTax calls the flow needs.
	Calls int
}

// Source is the CloudEvents source of scenario events.
const Source = "oms/onestock"

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func amount(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// builder accumulates the events of one order.
type builder struct {
	order   events.Order
	version int64
	events  []events.Envelope
}

func newBuilder(o events.Order) *builder { return &builder{order: o} }

// emit appends an event of type t carrying the current snapshot.
func (b *builder) emit(t events.Type, fill func(*events.OrderEvent)) {
	d := events.OrderEvent{OrderVersion: b.version, Order: cloneOrder(b.order)}
	if fill != nil {
		fill(&d)
	}
	id := fmt.Sprintf("%s-v%d-%s", b.order.ID, b.version, t)
	at := epoch.Add(time.Duration(len(b.events)) * time.Minute)
	env, err := events.New(id, Source, t, b.order.ID, at, d)
	if err != nil {
		panic(err) // plain structs always encode
	}
	b.events = append(b.events, env)
}

// change bumps the order version after mutating the snapshot.
func (b *builder) change(f func(o *events.Order)) {
	f(&b.order)
	b.version++
}

func (b *builder) setGroups(state string, parcel, endpoint string, ids ...string) {
	for i := range b.order.LineItemGroups {
		g := &b.order.LineItemGroups[i]
		if len(ids) == 0 || slices.Contains(ids, g.ID) {
			g.State = state
			if parcel != "" {
				g.ParcelID = parcel
			}
			if endpoint != "" {
				g.EndpointID = endpoint
			}
		}
	}
}

func cloneOrder(o events.Order) events.Order {
	o.OrderItems = slices.Clone(o.OrderItems)
	o.LineItemGroups = slices.Clone(o.LineItemGroups)
	o.Parcels = slices.Clone(o.Parcels)
	o.ShippingFees = slices.Clone(o.ShippingFees)
	return o
}

// newYork is a delivery address in the sandbox's jurisdiction table.
var newYork = &events.Address{Lines: []string{"350 5th Ave"}, City: "New York", ZipCode: "10118", Region: "NY", Country: "US"}

func homeDeliveryOrder(id string) events.Order {
	up1, up2 := amount("24.99"), amount("80.00")
	return events.Order{
		ID: id, Date: epoch, SalesChannel: "web", Types: []string{"ffs"}, State: "processing",
		Customer:       events.Customer{ID: "CUST-" + id, Email: "buyer@example.com"},
		Delivery:       events.Delivery{Type: "ffs", Option: "standard", Destination: events.Destination{Address: newYork}},
		PricingDetails: events.OrderPricing{Currency: "USD"},
		OrderItems: []events.OrderItem{
			{ID: "OI-1", ItemID: "TSHIRT-M", Quantity: 2, PricingDetails: events.ItemPricing{Price: amount("49.98"), UnitPrice: &up1}},
			{ID: "OI-2", ItemID: "JACKET-L", Quantity: 1, PricingDetails: events.ItemPricing{Price: amount("80.00"), UnitPrice: &up2}},
		},
		LineItemGroups: []events.LineItemGroup{
			{ID: "LIG-1", OrderItemID: "OI-1", ItemID: "TSHIRT-M", Quantity: 2, State: "pending"},
			{ID: "LIG-2", OrderItemID: "OI-2", ItemID: "JACKET-L", Quantity: 1, State: "pending"},
		},
		ShippingFees: []events.ShippingFee{{ID: "FEE-1", DeliveryOption: "standard", Price: amount("5.00")}},
	}
}

// paid publishes the order as paid and asks for an estimate.
func (b *builder) paid() {
	b.change(func(o *events.Order) { o.State = "processing" })
	b.emit(events.OrderStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = b.order.ID, "pending", "processing" })
	b.emit(events.RefreshOrderTaxes, func(d *events.OrderEvent) { d.Workflow, d.EntityID = "order", b.order.ID })
}

// dispatched assigns the groups to a warehouse, ships them in one parcel and
// asks for the commit.
func (b *builder) dispatched(endpoint string) {
	b.change(func(o *events.Order) {
		b.setGroups("fulfilled", "PAR-1", endpoint)
		o.Parcels = []events.Parcel{{ID: "PAR-1", State: "dispatched", EndpointID: endpoint}}
		o.State = "fulfilled"
	})
	b.emit(events.ParcelStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = "PAR-1", "packed", "dispatched" })
	b.emit(events.RefreshOrderTaxes, func(d *events.OrderEvent) { d.Workflow, d.EntityID = "parcel", "PAR-1" })
}

// StraightFulfil is an Order In Store sale taken from the store's stock: one
// call creates the committed document.
func StraightFulfil(id string) Flow {
	b := newBuilder(events.Order{
		ID: id, Date: epoch, SalesChannel: "ois", Types: []string{"ois"}, State: "fulfilled",
		Customer:       events.Customer{ID: "WALK-IN"},
		PricingDetails: events.OrderPricing{Currency: "USD"},
		OrderItems: []events.OrderItem{
			{ID: "OI-1", ItemID: "MUG", Quantity: 3, PricingDetails: events.ItemPricing{Price: amount("36.00")}},
			{ID: "OI-2", ItemID: "POSTER", Quantity: 1, PricingDetails: events.ItemPricing{Price: amount("15.50")}},
		},
		LineItemGroups: []events.LineItemGroup{
			{ID: "LIG-1", OrderItemID: "OI-1", ItemID: "MUG", Quantity: 3, State: "fulfilled", EndpointID: "STORE-SEATTLE"},
			{ID: "LIG-2", OrderItemID: "OI-2", ItemID: "POSTER", Quantity: 1, State: "fulfilled", EndpointID: "STORE-SEATTLE"},
		},
	})
	b.version = 1
	b.emit(events.OrderStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = id, "", "fulfilled" })
	b.emit(events.RefreshOrderTaxes, func(d *events.OrderEvent) { d.Workflow, d.EntityID = "order", id })
	return Flow{Name: "straight-fulfil", Description: "Order In Store, straight fulfil: one committed SalesInvoice, one AvaTax call",
		OrderID: id, Events: b.events, Final: lifecycle.Committed, Calls: 1}
}

// HomeDelivery is paid (estimate, uncommitted) and then dispatched (commit).
func HomeDelivery(id string) Flow {
	b := newBuilder(homeDeliveryOrder(id))
	b.paid()
	b.dispatched("WH-IRVINE")
	return Flow{Name: "home-delivery", Description: "Home delivery: paid → uncommitted, parcel dispatched → committed",
		OrderID: id, Events: b.events, Final: lifecycle.Committed, Calls: 2}
}

// Cancelled is paid and then cancelled before dispatch: the document is voided.
func Cancelled(id string) Flow {
	b := newBuilder(homeDeliveryOrder(id))
	b.paid()
	b.change(func(o *events.Order) { b.setGroups("cancelled", "", ""); o.State = "cancelled" })
	b.emit(events.OrderStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = id, "processing", "cancelled" })
	b.emit(events.VoidOrderTaxes, func(d *events.OrderEvent) { d.Workflow, d.EntityID = "order", id })
	return Flow{Name: "cancelled", Description: "Home delivery cancelled before dispatch → void; the document is Cancelled",
		OrderID: id, Events: b.events, Final: lifecycle.Void, Calls: 2}
}

// Returned is dispatched and then has one line item group returned: a
// ReturnInvoice refunds that group only.
func Returned(id string) Flow {
	b := newBuilder(homeDeliveryOrder(id))
	b.paid()
	b.dispatched("WH-IRVINE")
	b.change(func(o *events.Order) { b.setGroups("returned", "", "", "LIG-2") })
	b.emit(events.LineItemGroupStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = "LIG-2", "fulfilled", "returned" })
	b.emit(events.RefundOrderTaxes, func(d *events.OrderEvent) {
		d.Workflow, d.EntityID = "line_item_group", "LIG-2"
		d.Return = &events.Return{ID: "RET-1", LineItemGroupIDs: []string{"LIG-2"}}
	})
	return Flow{Name: "returned", Description: "Home delivery dispatched, then one line item group returned → committed_refund",
		OrderID: id, Events: b.events, Final: lifecycle.CommittedRefund, Calls: 3}
}

// OneStock returns the flows of the OneStock connector's documentation
// (straight fulfil; home delivery, cancelled, returned) and a partial
// cancel, with order ids made unique by prefix.
func OneStock(prefix string) []Flow {
	return []Flow{
		StraightFulfil(prefix + "OIS-1"),
		HomeDelivery(prefix + "WEB-1"),
		Cancelled(prefix + "WEB-2"),
		Returned(prefix + "WEB-3"),
		PartialCancel(prefix + "WEB-4"),
	}
}

// PartialCancel is paid, then one line item group is cancelled before the
// rest is dispatched: the committed document leaves the cancelled group out.
func PartialCancel(id string) Flow {
	b := newBuilder(homeDeliveryOrder(id))
	b.paid()
	b.change(func(o *events.Order) { b.setGroups("cancelled", "", "", "LIG-2") })
	b.emit(events.LineItemGroupStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = "LIG-2", "pending", "cancelled" })
	b.emit(events.RefreshOrderTaxes, func(d *events.OrderEvent) { d.Workflow, d.EntityID = "line_item_group", "LIG-2" })
	b.change(func(o *events.Order) {
		b.setGroups("fulfilled", "PAR-1", "WH-IRVINE", "LIG-1")
		o.Parcels = []events.Parcel{{ID: "PAR-1", State: "dispatched", EndpointID: "WH-IRVINE"}}
		o.State = "fulfilled"
	})
	b.emit(events.ParcelStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = "PAR-1", "packed", "dispatched" })
	b.emit(events.RefreshOrderTaxes, func(d *events.OrderEvent) { d.Workflow, d.EntityID = "parcel", "PAR-1" })
	return Flow{Name: "partial-cancel", Description: "Home delivery, one group cancelled before dispatch: committed without it",
		OrderID: id, Events: b.events, Final: lifecycle.Committed, Calls: 3}
}

// ECommerceTransactionID is the code of the document the e-commerce front
// end created for ECommerce(id).
func ECommerceTransactionID(id string) string { return "shop-" + id }

// ECommerce is an order whose uncommitted AvaTax document the e-commerce
// front end created (lines "1", "2" for the items, "3" for shipping);
// taxbridge commits it on dispatch, addressing its lines by those ids.
func ECommerce(id string) Flow {
	o := homeDeliveryOrder(id)
	o.TaxesInformation = &events.TaxesInformation{ProviderTransactionID: ECommerceTransactionID(id)}
	o.OrderItems[0].PricingDetails.Taxes = []events.TaxID{{ID: "1"}}
	o.OrderItems[1].PricingDetails.Taxes = []events.TaxID{{ID: "2"}}
	o.ShippingFees[0].Taxes = []events.TaxID{{ID: "3"}}
	b := newBuilder(o)
	b.change(func(o *events.Order) { o.State = "processing" })
	b.emit(events.OrderStateChanged, func(d *events.OrderEvent) { d.EntityID, d.PreviousState, d.State = id, "pending", "processing" })
	b.dispatched("WH-AUSTIN")
	return Flow{Name: "e-commerce", Description: "E-commerce document committed by taxbridge on dispatch, lines addressed by their ids",
		OrderID: id, Events: b.events, Final: lifecycle.Committed, Calls: 1}
}
