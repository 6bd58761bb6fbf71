// Package events defines taxbridge's event contract: the CloudEvents envelope,
// the OMS event types and their payloads, and the outbound tax results and
// errors. Schemas live in schemas/; Validator checks raw payloads against them.
package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/fastjson"
)

// Type is an event type, the CloudEvents "type" attribute.
type Type string

// Inbound event types: entity state changes and workflow actions.
const (
	OrderStateChanged         Type = "order_state_changed"
	ParcelStateChanged        Type = "parcel_state_changed"
	LineItemGroupStateChanged Type = "line_item_group_state_changed"
	RefreshOrderTaxes         Type = "refresh_order_taxes"
	RefundOrderTaxes          Type = "refund_order_taxes"
	VoidOrderTaxes            Type = "void_order_taxes"
	// PlexSalesOrderChanged and PlexPurchaseOrderChanged are published by
	// the Plex poller when an order's content changes; their data says
	// which action it asks for (Action).
	PlexSalesOrderChanged    Type = "plex_sales_order_changed"
	PlexPurchaseOrderChanged Type = "plex_purchase_order_changed"
)

// Outbound event types.
const (
	TaxResult Type = "tax_result"
	TaxError  Type = "tax_error"
)

// InboundTypes lists the types the worker consumes.
var InboundTypes = []Type{OrderStateChanged, ParcelStateChanged, LineItemGroupStateChanged,
	RefreshOrderTaxes, RefundOrderTaxes, VoidOrderTaxes, PlexSalesOrderChanged, PlexPurchaseOrderChanged}

// IsAction reports whether t is a workflow action rather than a state change.
func (t Type) IsAction() bool {
	return t == RefreshOrderTaxes || t == RefundOrderTaxes || t == VoidOrderTaxes
}

// IsPlex reports whether t is published by the Plex poller.
func (t Type) IsPlex() bool { return t == PlexSalesOrderChanged || t == PlexPurchaseOrderChanged }

// Envelope is a CloudEvents 1.0 event in structured JSON mode. ID is also
// the Nats-Msg-Id header, so the broker and the worker dedup on one key.
type Envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            Type            `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// New builds an envelope around data, which is encoded as JSON.
func New(id, source string, t Type, subject string, at time.Time, data any) (Envelope, error) {
	raw, err := fastjson.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s data for %s: %w", t, subject, err)
	}
	return Envelope{SpecVersion: "1.0", ID: id, Source: source, Type: t, Subject: subject,
		Time: at.UTC(), DataContentType: "application/json",
		DataSchema: "schemas/" + string(t) + ".schema.json", Data: raw}, nil
}

// Inbound is a validated inbound event decoded with its data: the
// envelope, whose raw Data stays empty, and the data as an OrderEvent.
type Inbound struct {
	Envelope
	Data OrderEvent `json:"data"` // shadows Envelope.Data, in JSON too
}

// Action is what the event asks of the order's tax: its type, or for a
// Plex event the action its data names. A state change is no action.
func (in *Inbound) Action() Type {
	if in.Type.IsPlex() {
		return in.Data.Action
	}
	return in.Type
}

// OrderEvent is the data of every inbound event: the order snapshot and its
// version, plus what the specific event adds.
type OrderEvent struct {
	OrderVersion int64  `json:"order_version"`
	Order        Order  `json:"order"`
	Workflow     string `json:"workflow,omitempty"`
	EntityID     string `json:"entity_id,omitempty"`
	// PreviousState and State describe the entity of a *_state_changed event.
	PreviousState string  `json:"previous_state,omitempty"`
	State         string  `json:"state,omitempty"`
	Return        *Return `json:"return,omitempty"` // refund_order_taxes only
	// Action and Plex are set by the Plex poller: the action the change
	// asks for (refresh_order_taxes or void_order_taxes) and where the
	// order comes from in Plex.
	Action Type       `json:"action,omitempty"`
	Plex   *PlexOrder `json:"plex,omitempty"`
}

// Kinds of Plex order.
const (
	PlexSalesOrder    = "sales_order"
	PlexPurchaseOrder = "purchase_order"
)

// PlexOrder says which Plex order an event stands for.
type PlexOrder struct {
	Tenant string `json:"tenant,omitempty"`
	Kind   string `json:"kind"` // PlexSalesOrder or PlexPurchaseOrder
	ID     string `json:"id"`   // Plex's id of the order, for the write-back
	Number string `json:"number"`
	Status string `json:"status"`
	// Fingerprint is the hash of what the poller sent, by which it tells
	// a changed order from an unchanged one.
	Fingerprint string `json:"fingerprint"`
}

var plexIDPrefixes = map[string]string{PlexSalesOrder: "plex-so-", PlexPurchaseOrder: "plex-po-"}

// PlexOrderID is taxbridge's id of a Plex order (record key and event
// subject): "plex-so-<id>" for a sales order, "plex-po-<id>" for a
// purchase order.
func PlexOrderID(kind, plexID string) string { return plexIDPrefixes[kind] + plexID }

// ParsePlexOrderID undoes PlexOrderID; ok is false for an OMS order id.
func ParsePlexOrderID(orderID string) (kind, plexID string, ok bool) {
	for k, p := range plexIDPrefixes {
		if id, found := strings.CutPrefix(orderID, p); found && id != "" {
			return k, id, true
		}
	}
	return "", "", false
}

// Return names the line item groups a refund_order_taxes action refunds.
type Return struct {
	ID               string   `json:"id"`
	LineItemGroupIDs []string `json:"line_item_group_ids"`
	RefundShipping   bool     `json:"refund_shipping,omitempty"`
}

// Order is the OMS order snapshot.
type Order struct {
	ID               string            `json:"id"`
	Date             time.Time         `json:"date"`
	SalesChannel     string            `json:"sales_channel"`
	Types            []string          `json:"types,omitempty"`
	State            string            `json:"state,omitempty"`
	Customer         Customer          `json:"customer,omitzero"`
	Delivery         Delivery          `json:"delivery,omitzero"`
	PricingDetails   OrderPricing      `json:"pricing_details,omitzero"`
	OrderItems       []OrderItem       `json:"order_items"`
	LineItemGroups   []LineItemGroup   `json:"line_item_groups"`
	Parcels          []Parcel          `json:"parcels,omitempty"`
	ShippingFees     []ShippingFee     `json:"shipping_fees,omitempty"`
	TaxesInformation *TaxesInformation `json:"taxes_information,omitempty"`
	// DocumentType is the AvaTax type of the order's document:
	// SalesInvoice (default) or PurchaseInvoice (consumer use tax).
	DocumentType string `json:"document_type,omitempty"`
	// DocumentCode is the code of the order's AvaTax document (default:
	// the order id).
	DocumentCode string `json:"document_code,omitempty"`
	// Origin is the ship-from address (a purchase's supplier); without it
	// the stock locations of the tax configuration give it.
	Origin *Address `json:"origin,omitempty"`
}

// Customer identifies the buyer for AvaTax (customer code, exemptions).
type Customer struct {
	ID            string `json:"id,omitempty"`
	Email         string `json:"email,omitempty"`
	EntityUseCode string `json:"entity_use_code,omitempty"`
	// ExemptionNo is the customer's exemption certificate number.
	ExemptionNo string `json:"exemption_no,omitempty"`
}

// Delivery says how and where the order is delivered.
type Delivery struct {
	Type        string      `json:"type,omitempty"`
	Option      string      `json:"option,omitempty"`
	Destination Destination `json:"destination,omitzero"`
}

// Destination is a delivery address or a stock location (click & collect).
type Destination struct {
	EndpointID string   `json:"endpoint_id,omitempty"`
	Address    *Address `json:"address,omitempty"`
}

// Address is a postal address.
type Address struct {
	Lines   []string `json:"lines,omitempty"`
	City    string   `json:"city,omitempty"`
	ZipCode string   `json:"zip_code,omitempty"`
	Region  string   `json:"region,omitempty"`
	Country string   `json:"country"`
}

// OrderPricing holds order-level pricing facts.
type OrderPricing struct {
	Currency string `json:"currency,omitempty"`
}

// OrderItem is one SKU of the order with its price.
type OrderItem struct {
	ID             string                       `json:"id"`
	ItemID         string                       `json:"item_id"`
	Quantity       int64                        `json:"quantity"`
	PricingDetails ItemPricing                  `json:"pricing_details"`
	Features       map[string]map[string]string `json:"features,omitempty"`
	// TaxCode is the item's AvaTax tax code; it takes precedence over the
	// tax configuration's.
	TaxCode string `json:"tax_code,omitempty"`
}

// ItemPricing is an order item's price; Price is the row total.
type ItemPricing struct {
	Price     decimal.Decimal  `json:"price"`
	UnitPrice *decimal.Decimal `json:"unit_price,omitempty"`
	Taxes     []TaxID          `json:"taxes,omitempty"`
}

// TaxID names a line of the AvaTax document an e-commerce front end created.
type TaxID struct {
	ID string `json:"id"`
}

// LineItemGroup is a part of an order item that moves through the workflow.
type LineItemGroup struct {
	ID          string `json:"id"`
	OrderItemID string `json:"order_item_id"`
	ItemID      string `json:"item_id,omitempty"`
	Quantity    int64  `json:"quantity"`
	State       string `json:"state"`
	EndpointID  string `json:"endpoint_id,omitempty"`
	ParcelID    string `json:"parcel_id,omitempty"`
}

// Parcel groups line item groups for shipment.
type Parcel struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	EndpointID string `json:"endpoint_id,omitempty"`
}

// ShippingFee is a delivery charge of the order.
type ShippingFee struct {
	ID             string          `json:"id"`
	DeliveryOption string          `json:"delivery_option,omitempty"`
	Price          decimal.Decimal `json:"price"`
	Taxes          []TaxID         `json:"taxes,omitempty"`
}

// TaxesInformation is set when an e-commerce front end already created the
// (uncommitted) AvaTax document.
type TaxesInformation struct {
	ProviderTransactionID string `json:"provider_transaction_id"`
	ExemptionCode         string `json:"exemption_code,omitempty"`
}

// Item returns the order item with the given id.
func (o *Order) Item(id string) (*OrderItem, bool) {
	for i := range o.OrderItems {
		if o.OrderItems[i].ID == id {
			return &o.OrderItems[i], true
		}
	}
	return nil, false
}

// ResultData is the data of a tax_result event.
type ResultData struct {
	OrderID       string `json:"order_id"`
	OrderVersion  int64  `json:"order_version"`
	Action        Type   `json:"action"`
	State         string `json:"state"`
	PreviousState string `json:"previous_state,omitempty"`
	CauseEventID  string `json:"cause_event_id"`
	// Document is the document the action created or changed; nil when it
	// changed none (see Note).
	Document  *Document  `json:"document,omitempty"`
	Documents []Document `json:"documents"`
	// Note says why an action changed no document: nothing to do in its
	// state, stale, already done, nothing to tax.
	Note string `json:"note,omitempty"`
}

// Document summarises an AvaTax document for write-back into the OMS.
type Document struct {
	Code         string          `json:"code"`
	Type         string          `json:"type"`
	Status       string          `json:"status"`
	TotalAmount  decimal.Decimal `json:"total_amount"`
	TotalTaxable decimal.Decimal `json:"total_taxable"`
	TotalTax     decimal.Decimal `json:"total_tax"`
	Lines        []DocumentLine  `json:"lines"`
}

// Line kinds of a Document.
const (
	LineItemGroupLine = "line_item_group"
	ShippingFeeLine   = "shipping_fee"
	// OrderItemLine is a line of an e-commerce document: one per order
	// item, named by its pricing_details.taxes[].id.
	OrderItemLine = "order_item"
)

// DocumentLine is the tax of one line item group or shipping fee.
type DocumentLine struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Amount  decimal.Decimal `json:"amount"`
	Taxable decimal.Decimal `json:"taxable"`
	Tax     decimal.Decimal `json:"tax"`
}

// ErrorData is the data of a tax_error event.
type ErrorData struct {
	OrderID      string `json:"order_id"`
	OrderVersion int64  `json:"order_version,omitempty"`
	Action       Type   `json:"action"`
	State        string `json:"state"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	AvaTaxCode   string `json:"avatax_code,omitempty"`
	Field        string `json:"field,omitempty"`
	CauseEventID string `json:"cause_event_id"`
}
