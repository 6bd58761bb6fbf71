package plexpoll

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/plex"
)

// Defaults of Settings.
const (
	DefaultSalesChannel   = "plex"
	DefaultDocumentPrefix = "PLEX"
	// ExemptWithoutNumber is the exemption number sent for a customer
	// Plex marks tax exempt without a certificate number.
	ExemptWithoutNumber = "EXEMPT"
)

// DefaultCancelStatuses are the Plex statuses that void an order's tax.
var DefaultCancelStatuses = []string{"Cancelled"}

// AvaTax document types the translation sets.
const (
	SalesInvoice    = "SalesInvoice"
	PurchaseInvoice = "PurchaseInvoice"
)

// maxDocumentCode is AvaTax's limit on a document code.
const maxDocumentCode = 50

// Settings are the translation's configurable parts. The zero value is
// completed by withDefaults.
type Settings struct {
	SalesChannel   string   // Order.SalesChannel (default "plex")
	CancelStatuses []string // statuses that void, case-insensitive (default ["Cancelled"])
	DocumentPrefix string   // first part of the document code (default "PLEX")
	Tenant         string   // Plex tenant id; its first 8 characters go into sales document codes
	// DefaultBuilding is the receiving building of a purchase order that
	// names none (Delivery.Destination.EndpointID).
	DefaultBuilding string
	// DefaultTaxCode is the tax code of a purchase order line without one
	// when the supplier has no default either (may be empty).
	DefaultTaxCode string
}

func (s Settings) withDefaults() Settings {
	if s.SalesChannel == "" {
		s.SalesChannel = DefaultSalesChannel
	}
	if s.CancelStatuses == nil {
		s.CancelStatuses = DefaultCancelStatuses
	}
	if s.DocumentPrefix == "" {
		s.DocumentPrefix = DefaultDocumentPrefix
	}
	return s
}

// SalesInput is what the translation of a sales order reads: the order
// (with its lines), its customer with financials, and the customer's
// addresses.
type SalesInput struct {
	Order     plex.SalesOrder
	Customer  plex.Customer
	Addresses []plex.CustomerAddress
}

// PurchaseInput is what the translation of a purchase order reads: the
// order (with its line items), its supplier, the supplier's addresses and
// purchasing defaults (nil when the supplier has none).
type PurchaseInput struct {
	Order     plex.PurchaseOrder
	Supplier  plex.Supplier
	Addresses []plex.SupplierAddress
	Defaults  *plex.SupplierPurchasingDefaults
}

// Action is the action a Plex status asks for: void for a cancel status,
// refresh otherwise.
func (s Settings) Action(status string) events.Type {
	for _, c := range s.withDefaults().CancelStatuses {
		if strings.EqualFold(strings.TrimSpace(status), strings.TrimSpace(c)) {
			return events.VoidOrderTaxes
		}
	}
	return events.RefreshOrderTaxes
}

// SalesDocumentCode is the AvaTax document code of a sales order:
// prefix-number, or prefix-tenant[:8]-number with a tenant, at most 50
// characters.
func (s Settings) SalesDocumentCode(number string) string {
	s = s.withDefaults()
	code := s.DocumentPrefix + "-"
	if s.Tenant != "" {
		code += truncate(s.Tenant, 8) + "-"
	}
	return truncate(code+number, maxDocumentCode)
}

// PurchaseDocumentCode is the AvaTax document code of a purchase order:
// prefix-PO-number, at most 50 characters.
func (s Settings) PurchaseDocumentCode(number string) string {
	s = s.withDefaults()
	return truncate(s.DocumentPrefix+"-PO-"+number, maxDocumentCode)
}

// Sales translates a sales order into the data of a
// plex_sales_order_changed event. OrderVersion and Plex.Fingerprint are
// left for the poller (see Fingerprint).
func (s Settings) Sales(in SalesInput) (events.OrderEvent, error) {
	s = s.withDefaults()
	so := in.Order
	if so.ID == "" {
		return events.OrderEvent{}, fmt.Errorf("plexpoll: a sales order has no id")
	}
	orderID := events.PlexOrderID(events.PlexSalesOrder, so.ID)
	items, groups, err := lines(orderID, len(so.Lines), func(i int) (string, string, decimal.Decimal, decimal.Decimal, string) {
		l := so.Lines[i]
		return l.ID, l.PartNumber, l.Quantity, l.Amount, l.TaxCode
	})
	if err != nil {
		return events.OrderEvent{}, err
	}
	cust := events.Customer{ID: in.Customer.Code}
	if in.Customer.Financials.SalesTaxExempt {
		cust.ExemptionNo = strings.TrimSpace(in.Customer.Financials.SalesTaxExemptNo)
		if cust.ExemptionNo == "" {
			cust.ExemptionNo = ExemptWithoutNumber
		}
	}
	var dest events.Destination
	if a := shipToAddress(in.Addresses, so.ShipToID); a != nil {
		dest.Address = address(a.Line1, a.Line2, a.City, a.PostalCode, a.State, a.Country)
	}
	return events.OrderEvent{
		Order: events.Order{
			ID: orderID, Date: plex.Date(so.OrderDate), SalesChannel: s.SalesChannel, State: so.Status,
			Customer: cust, Delivery: events.Delivery{Destination: dest},
			PricingDetails: events.OrderPricing{Currency: so.Currency},
			OrderItems:     items, LineItemGroups: groups,
			DocumentType: SalesInvoice, DocumentCode: s.SalesDocumentCode(so.Number),
		},
		Action: s.Action(so.Status),
		Plex:   &events.PlexOrder{Tenant: s.Tenant, Kind: events.PlexSalesOrder, ID: so.ID, Number: so.Number, Status: so.Status},
	}, nil
}

// Purchase translates a purchase order into the data of a
// plex_purchase_order_changed event: a PurchaseInvoice (consumer use tax)
// whose customer is the supplier, shipped from the supplier's address to
// the receiving building.
func (s Settings) Purchase(in PurchaseInput) (events.OrderEvent, error) {
	s = s.withDefaults()
	po := in.Order
	if po.ID == "" {
		return events.OrderEvent{}, fmt.Errorf("plexpoll: a purchase order has no id")
	}
	orderID := events.PlexOrderID(events.PlexPurchaseOrder, po.ID)
	defaultCode := s.DefaultTaxCode
	if in.Defaults != nil && in.Defaults.DefaultTaxCode != "" {
		defaultCode = in.Defaults.DefaultTaxCode
	}
	items, groups, err := lines(orderID, len(po.Lines), func(i int) (string, string, decimal.Decimal, decimal.Decimal, string) {
		l := po.Lines[i]
		code := l.TaxCode
		if code == "" {
			code = defaultCode
		}
		return l.ID, l.PartNumber, l.Quantity, l.Amount, code
	})
	if err != nil {
		return events.OrderEvent{}, err
	}
	var origin *events.Address
	if a := supplierAddress(in.Addresses, po.SupplierAddressID); a != nil {
		origin = address(a.Line1, a.Line2, a.City, a.PostalCode, a.State, a.Country)
	}
	building := po.ShipTo
	if building == "" {
		building = s.DefaultBuilding
	}
	return events.OrderEvent{
		Order: events.Order{
			ID: orderID, Date: plex.Date(po.OrderDate), SalesChannel: s.SalesChannel, State: po.Status,
			Customer:       events.Customer{ID: in.Supplier.Code},
			Delivery:       events.Delivery{Destination: events.Destination{EndpointID: building}},
			PricingDetails: events.OrderPricing{Currency: po.Currency},
			OrderItems:     items, LineItemGroups: groups,
			DocumentType: PurchaseInvoice, DocumentCode: s.PurchaseDocumentCode(po.Number),
			Origin: origin,
		},
		Action: s.Action(po.Status),
		Plex:   &events.PlexOrder{Tenant: s.Tenant, Kind: events.PlexPurchaseOrder, ID: po.ID, Number: po.Number, Status: po.Status},
	}, nil
}

// lines makes one order item and one open line item group per Plex line.
func lines(orderID string, n int, line func(int) (id, partNo string, qty, amount decimal.Decimal, taxCode string)) ([]events.OrderItem, []events.LineItemGroup, error) {
	items := make([]events.OrderItem, 0, n)
	groups := make([]events.LineItemGroup, 0, n)
	seen := make(map[string]bool, n)
	for i := range n {
		id, partNo, qty, amount, taxCode := line(i)
		if id == "" {
			return nil, nil, fmt.Errorf("plexpoll: line %d of order %s has no id", i+1, orderID)
		}
		if seen[id] {
			return nil, nil, fmt.Errorf("plexpoll: order %s has two lines %q", orderID, id)
		}
		seen[id] = true
		if amount.IsNegative() {
			return nil, nil, fmt.Errorf("plexpoll: line %q of order %s has a negative amount %s", id, orderID, amount)
		}
		itemID := partNo
		if itemID == "" {
			itemID = id
		}
		q := Quantity(qty)
		items = append(items, events.OrderItem{ID: id, ItemID: itemID, Quantity: q,
			PricingDetails: events.ItemPricing{Price: amount}, TaxCode: taxCode})
		groups = append(groups, events.LineItemGroup{ID: id, OrderItemID: id, Quantity: q, State: "open"})
	}
	return items, groups, nil
}

// Quantity is the whole quantity taxbridge sends for a Plex line: the
// quantity when it is a whole number of at least 1, else 1 (the line's
// amount is the row total either way, so the tax does not depend on it).
func Quantity(q decimal.Decimal) int64 {
	if q.IsInteger() && q.GreaterThanOrEqual(decimal.NewFromInt(1)) && q.LessThanOrEqual(decimal.NewFromInt(1<<53)) {
		return q.IntPart()
	}
	return 1
}

func shipToAddress(as []plex.CustomerAddress, id string) *plex.CustomerAddress {
	if id != "" {
		for i := range as {
			if as[i].ID == id {
				return &as[i]
			}
		}
	}
	for i := range as {
		if as[i].ShipTo {
			return &as[i]
		}
	}
	return nil
}

func supplierAddress(as []plex.SupplierAddress, id string) *plex.SupplierAddress {
	if id != "" {
		for i := range as {
			if as[i].ID == id {
				return &as[i]
			}
		}
	}
	if len(as) > 0 {
		return &as[0]
	}
	return nil
}

func address(line1, line2, city, zip, region, country string) *events.Address {
	a := &events.Address{City: city, ZipCode: zip, Region: region, Country: strings.TrimSpace(country)}
	for _, l := range []string{line1, line2} {
		if l = strings.TrimSpace(l); l != "" {
			a.Lines = append(a.Lines, l)
		}
	}
	if a.Country == "" {
		a.Country = "US"
	}
	return a
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// fingerprintJSON is encoding/json's behaviour (as fastjson, which
// publishes the events) except that amounts are always their canonical
// decimal strings: the fingerprint does not depend on the process-wide
// decimal.MarshalJSONWithoutQuotes (money.EncodeAmountsAsNumbers), nor on
// trailing zeros (37.50 and 37.5 are the same amount).
var fingerprintJSON = json.JoinOptions(json.DefaultOptionsV2(), jsonv1.DefaultOptionsV1(),
	json.WithMarshalers(json.MarshalToFunc(func(enc *jsontext.Encoder, d decimal.Decimal) error {
		return enc.WriteToken(jsontext.String(d.String()))
	})))

// Fingerprint is the hex SHA-256 of the canonical JSON of ev with
// OrderVersion 0 and Plex.Fingerprint "": it changes exactly when
// something taxbridge sends about the order changes, whether in the order,
// its customer or supplier, or their addresses.
func Fingerprint(ev events.OrderEvent) (string, error) {
	ev.OrderVersion = 0
	if ev.Plex != nil {
		p := *ev.Plex
		p.Fingerprint = ""
		ev.Plex = &p
	}
	raw, err := json.Marshal(ev, fingerprintJSON)
	if err != nil {
		return "", fmt.Errorf("plexpoll: fingerprint of %s: %w", ev.Order.ID, err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}
