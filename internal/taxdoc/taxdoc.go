// Package taxdoc maps an OMS order snapshot to AvaTax documents under the tax
// configuration, and maps AvaTax documents back to what the OMS writes back.
// It does no I/O.
package taxdoc

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
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
// removed. An Order In Store sale is commitable at once (straight fulfil),
// and so is an order whose state is one of its sales channel's commit
// states (a Plex order closed or invoiced).
func (m *Mapper) Commitable(o *events.Order) bool {
	ch := m.cfg.Channel(o.SalesChannel)
	if ch.OrderInStore || (o.State != "" && slices.Contains(ch.CommitOrderStates, o.State)) {
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
	Kind string // events.LineItemGroupLine, events.OrderItemLine or events.ShippingFeeLine
	ID   string
}

// ECommerce reports whether the order's sale document was created by an
// e-commerce front end, whose line ids then name the document's lines.
func ECommerce(o *events.Order) bool { return o.TaxesInformation != nil }

// Sale builds the SalesInvoice for the order, leaving removed line item
// groups out. code is the document code. Lines are numbered by line item
// group id, or, for an e-commerce document, one line per order item named
// by its pricing_details.taxes[].id. Each order item's price is allocated
// over its groups so that the lines add up to it to the cent.
func (m *Mapper) Sale(o *events.Order, code string) (avatax.CreateTransactionModel, error) {
	doc, originID, err := m.header(o, code, DocumentType(o))
	if err != nil {
		return doc, err
	}
	sales, err := m.allocate(o)
	if err != nil {
		return doc, err
	}
	if ECommerce(o) {
		err = m.itemLines(&doc, o, originID, sales)
	} else {
		amounts := map[string]decimal.Decimal{}
		for _, s := range sales {
			maps.Copy(amounts, s.Groups)
		}
		err = m.groupLines(&doc, o, originID, amounts)
	}
	if err != nil {
		return doc, err
	}
	if len(doc.Lines) == 0 {
		return doc, ErrNothingToTax
	}
	m.feeLines(&doc, o, o.ShippingFees, false)
	return doc, nil
}

// Return builds the ReturnInvoice of a return: the returned line item
// groups (and the shipping fees when the return says so) with negative
// amounts, taxed at the sale's date so that the refunded tax matches the
// tax collected. It is created with createoradjust, so sending it again is
// safe. earlier are what the order's earlier returns took back: a group
// refunds what it was sold for, but never more than its order item has
// left, and a shipping fee is refunded once. The Refund it returns is what
// this return takes back, for the returns after it.
func (m *Mapper) Return(o *events.Order, saleCode string, r *events.Return, code string, at time.Time, earlier []Refund) (avatax.CreateTransactionModel, Refund, error) {
	var taken Refund
	doc, originID, err := m.header(o, code, avatax.ReturnInvoice)
	if err != nil {
		return doc, taken, err
	}
	doc.Date = at.UTC().Format(time.DateOnly)
	doc.ReferenceCode = saleCode
	doc.TaxOverride = &avatax.TaxOverrideModel{Type: avatax.OverrideTaxDate,
		TaxDate: o.Date.UTC().Format(time.DateOnly), Reason: "Return"}
	doc.Commit = true
	for i, id := range r.LineItemGroupIDs {
		field := fmt.Sprintf("/data/return/line_item_group_ids/%d", i)
		j := slices.IndexFunc(o.LineItemGroups, func(g events.LineItemGroup) bool { return g.ID == id })
		if j < 0 {
			return doc, taken, &DataError{field, fmt.Sprintf("line item group %q is not part of order %s", id, o.ID)}
		}
		if m.cfg.IsRemoved(o.LineItemGroups[j].State) {
			return doc, taken, &DataError{field, fmt.Sprintf("line item group %q is %s: it was removed before the sale was committed, so there is no tax to refund",
				id, o.LineItemGroups[j].State)}
		}
		if slices.ContainsFunc(earlier, func(e Refund) bool { return slices.Contains(e.Groups, id) }) {
			return doc, taken, &DataError{field, fmt.Sprintf("line item group %q was already refunded by an earlier return", id)}
		}
	}
	sales, err := m.allocate(o)
	if err != nil {
		return doc, taken, err
	}
	amounts, items := refund(o, sales, r.LineItemGroupIDs, earlier)
	for id, a := range amounts {
		amounts[id] = a.Neg()
	}
	if err := m.groupLines(&doc, o, originID, amounts); err != nil {
		return doc, taken, err
	}
	taken.Groups, taken.Items = slices.Clone(r.LineItemGroupIDs), items
	if r.RefundShipping {
		var fees []events.ShippingFee
		for _, f := range o.ShippingFees {
			if !slices.ContainsFunc(earlier, func(e Refund) bool { return slices.Contains(e.Fees, f.ID) }) {
				fees = append(fees, f)
				taken.Fees = append(taken.Fees, f.ID)
			}
		}
		m.feeLines(&doc, o, fees, true)
	}
	return doc, taken, nil
}

// header fills the document-level fields and addresses.
func (m *Mapper) header(o *events.Order, code, docType string) (avatax.CreateTransactionModel, string, error) {
	ch := m.cfg.Channel(o.SalesChannel)
	doc := avatax.CreateTransactionModel{
		Code:            code,
		Type:            docType,
		CompanyCode:     m.cfg.Provider.CompanyCode,
		Date:            o.Date.UTC().Format(time.DateOnly),
		CustomerCode:    customerCode(o),
		CurrencyCode:    currency(o),
		PurchaseOrderNo: o.ID,
		EntityUseCode:   o.Customer.EntityUseCode,
	}
	if o.TaxesInformation != nil {
		doc.ExemptionNo = o.TaxesInformation.ExemptionCode
	}
	if o.Customer.ExemptionNo != "" {
		doc.ExemptionNo = o.Customer.ExemptionNo
	}
	origin, originID, err := m.origin(o, ch)
	if err != nil {
		return doc, "", err
	}
	if ch.OrderInStore {
		doc.Addresses = &avatax.AddressesModel{SingleLocation: origin}
	} else {
		dest, err := m.destination(o)
		if err != nil {
			return doc, "", err
		}
		doc.Addresses = &avatax.AddressesModel{ShipFrom: origin, ShipTo: dest}
	}
	doc.ReportingLocationCode = m.locationCode(originID)
	return doc, originID, nil
}

// groupLines adds one line per line item group that amounts has an amount
// for, in the order's order.
func (m *Mapper) groupLines(doc *avatax.CreateTransactionModel, o *events.Order, originID string, amounts map[string]decimal.Decimal) error {
	ch := m.cfg.Channel(o.SalesChannel)
	for i, g := range o.LineItemGroups {
		amount, ok := amounts[g.ID]
		if !ok {
			continue
		}
		field := fmt.Sprintf("/data/order/line_item_groups/%d", i)
		item, _ := o.Item(g.OrderItemID) // allocate checked it exists
		line := m.itemLine(item, g.ID, g.Quantity, amount, ch.TaxesIncludedInPrice)
		if err := m.lineOrigin(&line, doc, g.EndpointID, originID, field+"/endpoint_id"); err != nil {
			return err
		}
		doc.Lines = append(doc.Lines, line)
	}
	return nil
}

// itemLines adds one line per order item named by its e-commerce tax line
// id, with the units and amount of its line item groups not removed.
func (m *Mapper) itemLines(doc *avatax.CreateTransactionModel, o *events.Order, originID string, sales map[string]itemSale) error {
	ch := m.cfg.Channel(o.SalesChannel)
	for i := range o.OrderItems {
		item := &o.OrderItems[i]
		sale := sales[item.ID]
		if sale.Units == 0 {
			continue
		}
		endpoint := ""
		for _, g := range o.LineItemGroups {
			if g.OrderItemID == item.ID && !m.cfg.IsRemoved(g.State) && g.EndpointID != "" {
				endpoint = g.EndpointID
				break
			}
		}
		field := fmt.Sprintf("/data/order/order_items/%d/pricing_details/taxes", i)
		if len(item.PricingDetails.Taxes) == 0 {
			return &DataError{field, fmt.Sprintf("order item %q has no AvaTax line id, but the order's document %s was created by the e-commerce front end",
				item.ID, o.TaxesInformation.ProviderTransactionID)}
		}
		line := m.itemLine(item, item.PricingDetails.Taxes[0].ID, sale.Units, sale.Amount, ch.TaxesIncludedInPrice)
		if err := m.lineOrigin(&line, doc, endpoint, originID, field); err != nil {
			return err
		}
		doc.Lines = append(doc.Lines, line)
	}
	return nil
}

func (m *Mapper) itemLine(item *events.OrderItem, number string, qty int64, amount decimal.Decimal, taxIncluded bool) avatax.LineItemModel {
	p := m.cfg.Provider
	return avatax.LineItemModel{
		Number:      number,
		Quantity:    decimal.NewFromInt(qty),
		Amount:      amount,
		ItemCode:    item.ItemID,
		TaxCode:     cmp.Or(item.TaxCode, m.feature(item, p.TaxCodeFeature, p.DefaultTaxCode)),
		Description: m.feature(item, p.DescriptionFeature, p.DefaultDescription),
		HSCode:      m.feature(item, p.HSCodeFeature, p.DefaultHSCode),
		TaxIncluded: taxIncluded,
	}
}

// lineOrigin gives a line its own ship-from when it leaves from another
// stock location than the document's (a split shipment).
func (m *Mapper) lineOrigin(line *avatax.LineItemModel, doc *avatax.CreateTransactionModel, endpointID, originID, field string) error {
	if doc.Addresses.SingleLocation != nil || endpointID == "" || endpointID == originID {
		return nil
	}
	from, err := m.stockAddress(endpointID, field)
	if err != nil {
		return err
	}
	line.Addresses = &avatax.AddressesModel{ShipFrom: from, ShipTo: doc.Addresses.ShipTo}
	return nil
}

// feeLines adds shipping fees, with the tax and item codes configured for
// their delivery option.
func (m *Mapper) feeLines(doc *avatax.CreateTransactionModel, o *events.Order, fees []events.ShippingFee, refund bool) {
	ch := m.cfg.Channel(o.SalesChannel)
	for _, f := range fees {
		codes := m.shippingCodes(f.DeliveryOption, o.Delivery.Option)
		number := FeeLineNumber(f.ID)
		if ECommerce(o) && len(f.Taxes) > 0 && !refund {
			number = f.Taxes[0].ID
		}
		amount := f.Price
		if refund {
			amount = amount.Neg()
		}
		doc.Lines = append(doc.Lines, avatax.LineItemModel{
			Number:      number,
			Quantity:    decimal.NewFromInt(1),
			Amount:      amount,
			ItemCode:    codes.ItemCode,
			TaxCode:     codes.TaxCode,
			Description: "Shipping",
			TaxIncluded: ch.TaxesIncludedInPrice,
		})
	}
}

// FeeLineNumber is the document line number of a shipping fee.
func FeeLineNumber(feeID string) string { return "SHIP-" + feeID }

// LineRefs maps the line numbers Sale and Return give to the entities they
// stand for.
func LineRefs(o *events.Order) map[string]LineRef {
	refs := make(map[string]LineRef, len(o.LineItemGroups)+len(o.ShippingFees)+len(o.OrderItems))
	for _, g := range o.LineItemGroups {
		refs[g.ID] = LineRef{events.LineItemGroupLine, g.ID}
	}
	for _, f := range o.ShippingFees {
		refs[FeeLineNumber(f.ID)] = LineRef{events.ShippingFeeLine, f.ID}
		if ECommerce(o) && len(f.Taxes) > 0 {
			refs[f.Taxes[0].ID] = LineRef{events.ShippingFeeLine, f.ID}
		}
	}
	if ECommerce(o) {
		for _, it := range o.OrderItems {
			if len(it.PricingDetails.Taxes) > 0 {
				refs[it.PricingDetails.Taxes[0].ID] = LineRef{events.OrderItemLine, it.ID}
			}
		}
	}
	return refs
}

// Hash fingerprints the tax-relevant content of a document, ignoring the
// commit flag, so the worker can skip calls that would change nothing.
func Hash(doc avatax.CreateTransactionModel) string {
	doc.Commit = false
	// fastjson writes what encoding/json writes, so hashes stored by
	// earlier versions still match.
	b, _ := fastjson.Marshal(doc) // plain structs: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Summarize turns an AvaTax document into what the OMS writes back: totals,
// and the tax per line item group (or order item) and per shipping fee.
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

// Addresses lists the distinct addresses of a document (document level and
// line level), for validation before the first calculation.
func Addresses(doc *avatax.CreateTransactionModel) []*avatax.AddressLocationInfo {
	var out []*avatax.AddressLocationInfo
	add := func(a *avatax.AddressesModel) {
		if a == nil {
			return
		}
		for _, x := range []*avatax.AddressLocationInfo{a.SingleLocation, a.ShipFrom, a.ShipTo} {
			if x != nil && !slices.ContainsFunc(out, func(y *avatax.AddressLocationInfo) bool { return *y == *x }) {
				out = append(out, x)
			}
		}
	}
	add(doc.Addresses)
	for i := range doc.Lines {
		add(doc.Lines[i].Addresses)
	}
	return out
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
	if o.Origin != nil {
		return address(o.Origin), "", nil
	}
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

// locationCode is the reporting location code: the stock location id when
// use_endpoint_id_as_location_code is set, else the stock location's own
// code, else the provider's default.
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

// DocumentType is the AvaTax type of the order's sale document:
// SalesInvoice unless the order says PurchaseInvoice.
func DocumentType(o *events.Order) string {
	if o != nil && o.DocumentType != "" {
		return o.DocumentType
	}
	return avatax.SalesInvoice
}

func currency(o *events.Order) string {
	if o.PricingDetails.Currency != "" {
		return o.PricingDetails.Currency
	}
	return "USD"
}

// AddressField names where an address of the order's document comes
// from: the order's origin, a stock location of the configuration, or
// else the order's delivery destination.
func (m *Mapper) AddressField(o *events.Order, a *avatax.AddressLocationInfo) string {
	if o.Origin != nil && *address(o.Origin) == *a {
		return "/data/order/origin"
	}
	for _, id := range slices.Sorted(maps.Keys(m.cfg.StockLocations)) {
		sl := m.cfg.StockLocations[id]
		if *address(&sl.Address) == *a {
			return "/stock_locations/" + id + "/address"
		}
	}
	return "/data/order/delivery/destination/address"
}
