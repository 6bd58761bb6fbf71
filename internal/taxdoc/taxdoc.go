// Package taxdoc maps an OMS order snapshot to AvaTax documents under the tax
// configuration, and maps AvaTax documents back to what the OMS writes back.
// It does no I/O.
package taxdoc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
)

// DataError is a problem with the order's data or the configuration that no
// retry can fix; the OMS or the operator must correct it.
type DataError struct {
	Field   string // JSON pointer into the event or the configuration
	Message string
}

func (e *DataError) Error() string { return e.Field + ": " + e.Message }

// ErrNothingToTax means every line item group of the order is removed:
// there is no sale to calculate, and nothing to do but void.
var ErrNothingToTax = errors.New("every line item group is removed: nothing to tax")

// Mapper builds AvaTax requests from order snapshots.
type Mapper struct {
	cfg *taxconfig.Config
}

// NewMapper returns a Mapper for the configuration.
func NewMapper(cfg *taxconfig.Config) *Mapper { return &Mapper{cfg: cfg} }

// Config returns the tax configuration the mapper uses.
func (m *Mapper) Config() *taxconfig.Config { return m.cfg }

// Commitable reports whether the order's tax may be committed: every parcel
// is in a commitable state and every line item group outside a parcel is
// removed. An Order In Store sale is commitable at once (straight fulfil).
func (m *Mapper) Commitable(o *events.Order) bool {
	if m.cfg.Channel(o.SalesChannel).OrderInStore {
		return true
	}
	parcels := map[string]string{}
	for _, p := range o.Parcels {
		parcels[p.ID] = p.State
	}
	shipped := false
	for _, g := range o.LineItemGroups {
		if m.cfg.IsRemoved(g.State) {
			continue
		}
		state, inParcel := parcels[g.ParcelID]
		if g.ParcelID == "" || !inParcel || !m.cfg.IsCommitableParcel(state) {
			return false
		}
		shipped = true
	}
	return shipped
}

// LineRef says which OMS entity a document line stands for.
type LineRef struct {
	Kind string // events.LineItemGroupLine or events.ShippingFeeLine
	ID   string
}

// Sale builds the SalesInvoice for the order, leaving removed line item
// groups out. code is the document code.
func (m *Mapper) Sale(o *events.Order, code string) (avatax.CreateTransactionModel, error) {
	ch := m.cfg.Channel(o.SalesChannel)
	p := m.cfg.Provider
	doc := avatax.CreateTransactionModel{
		Code:            code,
		Type:            avatax.SalesInvoice,
		CompanyCode:     p.CompanyCode,
		Date:            o.Date.UTC().Format(time.DateOnly),
		CustomerCode:    customerCode(o),
		CurrencyCode:    currency(o),
		PurchaseOrderNo: o.ID,
		EntityUseCode:   o.Customer.EntityUseCode,
	}
	if o.TaxesInformation != nil {
		doc.ExemptionNo = o.TaxesInformation.ExemptionCode
	}
	origin, originID, err := m.origin(o, ch)
	if err != nil {
		return doc, err
	}
	if ch.OrderInStore {
		doc.Addresses = &avatax.AddressesModel{SingleLocation: origin}
	} else {
		dest, err := m.destination(o)
		if err != nil {
			return doc, err
		}
		doc.Addresses = &avatax.AddressesModel{ShipFrom: origin, ShipTo: dest}
	}
	doc.ReportingLocationCode = m.locationCode(originID)

	for i, g := range o.LineItemGroups {
		if m.cfg.IsRemoved(g.State) {
			continue
		}
		field := fmt.Sprintf("/data/order/line_item_groups/%d", i)
		item, ok := o.Item(g.OrderItemID)
		if !ok {
			return doc, &DataError{field + "/order_item_id", fmt.Sprintf("order item %q does not exist in the order", g.OrderItemID)}
		}
		line := avatax.LineItemModel{
			Number:      g.ID,
			Quantity:    decimal.NewFromInt(g.Quantity),
			Amount:      groupAmount(item, g.Quantity),
			ItemCode:    item.ItemID,
			TaxCode:     m.feature(item, p.TaxCodeFeature, p.DefaultTaxCode),
			Description: m.feature(item, p.DescriptionFeature, p.DefaultDescription),
			HSCode:      m.feature(item, p.HSCodeFeature, p.DefaultHSCode),
			TaxIncluded: ch.TaxesIncludedInPrice,
		}
		if !ch.OrderInStore && g.EndpointID != "" && g.EndpointID != originID {
			from, err := m.stockAddress(g.EndpointID, field+"/endpoint_id")
			if err != nil {
				return doc, err
			}
			line.Addresses = &avatax.AddressesModel{ShipFrom: from, ShipTo: doc.Addresses.ShipTo}
		}
		doc.Lines = append(doc.Lines, line)
	}
	if len(doc.Lines) == 0 {
		return doc, ErrNothingToTax
	}
	for _, f := range o.ShippingFees {
		codes := m.shippingCodes(f.DeliveryOption, o.Delivery.Option)
		doc.Lines = append(doc.Lines, avatax.LineItemModel{
			Number:      FeeLineNumber(f.ID),
			Quantity:    decimal.NewFromInt(1),
			Amount:      f.Price,
			ItemCode:    codes.ItemCode,
			TaxCode:     codes.TaxCode,
			Description: "Shipping",
			TaxIncluded: ch.TaxesIncludedInPrice,
		})
	}
	return doc, nil
}

// FeeLineNumber is the document line number of a shipping fee.
func FeeLineNumber(feeID string) string { return "SHIP-" + feeID }

// LineRefs maps the line numbers Sale gives to the entities they stand for.
func LineRefs(o *events.Order) map[string]LineRef {
	refs := make(map[string]LineRef, len(o.LineItemGroups)+len(o.ShippingFees))
	for _, g := range o.LineItemGroups {
		refs[g.ID] = LineRef{events.LineItemGroupLine, g.ID}
	}
	for _, f := range o.ShippingFees {
		refs[FeeLineNumber(f.ID)] = LineRef{events.ShippingFeeLine, f.ID}
	}
	return refs
}

// Refund builds the refund of the returned line item groups (and the
// shipping fees when the return says so) as a Partial refund.
func (m *Mapper) Refund(o *events.Order, r *events.Return, code string, at time.Time) (avatax.RefundTransactionModel, error) {
	refs := LineRefs(o)
	lines := make([]string, 0, len(r.LineItemGroupIDs)+len(o.ShippingFees))
	for i, id := range r.LineItemGroupIDs {
		if _, ok := refs[id]; !ok {
			return avatax.RefundTransactionModel{}, &DataError{fmt.Sprintf("/data/return/line_item_group_ids/%d", i),
				fmt.Sprintf("line item group %q is not part of order %s", id, o.ID)}
		}
		lines = append(lines, id)
	}
	if r.RefundShipping {
		for _, f := range o.ShippingFees {
			lines = append(lines, FeeLineNumber(f.ID))
		}
	}
	return avatax.RefundTransactionModel{
		RefundTransactionCode: code,
		RefundDate:            at.UTC().Format(time.DateOnly),
		RefundType:            avatax.RefundPartial,
		RefundLines:           lines,
		ReferenceCode:         "return " + r.ID,
	}, nil
}

// Hash fingerprints the tax-relevant content of a sale, ignoring the commit
// flag, so the worker can skip calls that would change nothing.
func Hash(doc avatax.CreateTransactionModel) string {
	doc.Commit = false
	b, _ := json.Marshal(doc) // plain structs: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Summarize turns an AvaTax document into what the OMS writes back: totals,
// and the tax per line item group and per shipping fee.
func Summarize(t *avatax.TransactionModel, refs map[string]LineRef) events.Document {
	d := events.Document{
		Code: t.Code, Type: t.Type, Status: t.Status,
		TotalAmount: t.TotalAmount, TotalTaxable: t.TotalTaxable, TotalTax: t.TotalTax,
		Lines: make([]events.DocumentLine, 0, len(t.Lines)),
	}
	for _, l := range t.Lines {
		ref, ok := refs[l.LineNumber]
		if !ok {
			ref = LineRef{events.LineItemGroupLine, l.LineNumber}
		}
		d.Lines = append(d.Lines, events.DocumentLine{Kind: ref.Kind, ID: ref.ID,
			Amount: l.LineAmount, Taxable: l.TaxableAmount, Tax: l.Tax})
	}
	return d
}

func groupAmount(item *events.OrderItem, qty int64) decimal.Decimal {
	q := decimal.NewFromInt(qty)
	if up := item.PricingDetails.UnitPrice; up != nil {
		return money.Round2(up.Mul(q))
	}
	if item.Quantity == 0 || qty == item.Quantity {
		return item.PricingDetails.Price
	}
	return money.Round2(item.PricingDetails.Price.Mul(q).Div(decimal.NewFromInt(item.Quantity)))
}

func (m *Mapper) feature(item *events.OrderItem, name, fallback string) string {
	if name != "" {
		lang := m.cfg.Provider.FeaturesLanguage
		if lang == "" {
			lang = "en"
		}
		if v := item.Features[lang][name]; v != "" {
			return v
		}
	}
	return fallback
}

func (m *Mapper) shippingCodes(options ...string) taxconfig.ShippingFee {
	for _, o := range options {
		if c, ok := m.cfg.Provider.ShippingFees[o]; ok && o != "" {
			return c
		}
	}
	if c, ok := m.cfg.Provider.ShippingFees["default"]; ok {
		return c
	}
	return taxconfig.ShippingFee{TaxCode: "FR020100", ItemCode: "SHIPPING"}
}

// origin is the ship-from (or the store of an Order In Store sale): the stock
// location of the first line item group that has one, else the channel's
// estimation stock location.
func (m *Mapper) origin(o *events.Order, ch taxconfig.ChannelSettings) (*avatax.AddressLocationInfo, string, error) {
	for i, g := range o.LineItemGroups {
		if g.EndpointID != "" && !m.cfg.IsRemoved(g.State) {
			a, err := m.stockAddress(g.EndpointID, fmt.Sprintf("/data/order/line_item_groups/%d/endpoint_id", i))
			return a, g.EndpointID, err
		}
	}
	if ch.EstimationStockLocation == "" {
		return nil, "", &DataError{"/global/estimation_stock_location",
			"no line item group has a stock location yet and no estimation stock location is configured for sales channel " + ch.Name}
	}
	a, err := m.stockAddress(ch.EstimationStockLocation, "/global/estimation_stock_location")
	return a, ch.EstimationStockLocation, err
}

func (m *Mapper) destination(o *events.Order) (*avatax.AddressLocationInfo, error) {
	d := o.Delivery.Destination
	if d.Address != nil {
		return address(d.Address), nil
	}
	if d.EndpointID != "" {
		return m.stockAddress(d.EndpointID, "/data/order/delivery/destination/endpoint_id")
	}
	return nil, &DataError{"/data/order/delivery/destination", "the order has no delivery address or destination stock location"}
}

func (m *Mapper) stockAddress(id, field string) (*avatax.AddressLocationInfo, error) {
	sl, ok := m.cfg.StockLocations[id]
	if !ok {
		return nil, &DataError{field, fmt.Sprintf("stock location %q is not in the tax configuration's stock_locations", id)}
	}
	return address(&sl.Address), nil
}

func (m *Mapper) locationCode(endpointID string) string {
	p := m.cfg.Provider
	if p.UseEndpointIDAsLocationCode {
		return endpointID
	}
	if sl, ok := m.cfg.StockLocations[endpointID]; ok && sl.LocationCode != "" {
		return sl.LocationCode
	}
	return p.DefaultLocationCode
}

func address(a *events.Address) *avatax.AddressLocationInfo {
	out := &avatax.AddressLocationInfo{City: a.City, Region: a.Region, Country: a.Country, PostalCode: a.ZipCode}
	for i, l := range a.Lines {
		switch i {
		case 0:
			out.Line1 = l
		case 1:
			out.Line2 = l
		case 2:
			out.Line3 = l
		}
	}
	return out
}

func customerCode(o *events.Order) string {
	switch {
	case o.Customer.ID != "":
		return o.Customer.ID
	case o.Customer.Email != "":
		return o.Customer.Email
	}
	return o.ID // the order id is at most 50 characters, like customerCode
}

func currency(o *events.Order) string {
	if o.PricingDetails.Currency != "" {
		return o.PricingDetails.Currency
	}
	return "USD"
}
