package plex

import (
	"time"

	"github.com/shopspring/decimal"
)

// Money and quantities are decimal.Decimal, never float64, so that amounts
// written back to Plex add up to the cent. They decode from JSON numbers
// or strings; they encode as strings (shopspring's default), which the
// sandbox accepts and Plex is assumed to accept too.

// Dates travel as ISO 8601 in UTC without fractions ("2026-11-02T09:00:00Z");
// time.Time decodes that form and encodes it when the value is in UTC and
// whole seconds, which is what Date makes.

// Date returns t in UTC truncated to the second: the form Plex dates take.
func Date(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// SalesOrder is a Plex sales order with its lines and prices.
type SalesOrder struct {
	ID         string           `json:"id"`
	Number     string           `json:"orderNo"`
	CustomerID string           `json:"customerId"`
	Status     string           `json:"status,omitempty"`
	Currency   string           `json:"currency,omitempty"`
	OrderDate  time.Time        `json:"orderDate"`
	ShipToID   string           `json:"shipToAddressId,omitempty"`
	BillToID   string           `json:"billToAddressId,omitempty"`
	Lines      []SalesOrderLine `json:"lines,omitempty"`
}

// SalesOrderLine is one line of a sales order.
type SalesOrderLine struct {
	ID          string          `json:"id"`
	LineNumber  int             `json:"lineNo"`
	PartID      string          `json:"partId,omitempty"`
	PartNumber  string          `json:"partNo,omitempty"`
	Description string          `json:"description,omitempty"`
	Quantity    decimal.Decimal `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unitPrice"`
	Amount      decimal.Decimal `json:"amount"`
	TaxCode     string          `json:"taxCode,omitempty"`
}

// Customer is a Plex customer with its financial settings.
type Customer struct {
	ID         string             `json:"id"`
	Code       string             `json:"code"`
	Name       string             `json:"name"`
	Status     string             `json:"status,omitempty"`
	Financials CustomerFinancials `json:"financials"`
}

// CustomerFinancials holds the tax exemption of a customer.
type CustomerFinancials struct {
	SalesTaxExempt   bool   `json:"salesTaxExempt"`
	SalesTaxExemptNo string `json:"salesTaxExemptNo,omitempty"`
}

// CustomerAddress is one address of a customer (ship-to, bill-to or both).
type CustomerAddress struct {
	ID         string `json:"id"`
	CustomerID string `json:"customerId"`
	Code       string `json:"code,omitempty"`
	Line1      string `json:"address1,omitempty"`
	Line2      string `json:"address2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"zip,omitempty"`
	Country    string `json:"country,omitempty"`
	ShipTo     bool   `json:"shipTo"`
	BillTo     bool   `json:"billTo"`
}

// PurchaseOrder is a Plex purchase order with its line items.
type PurchaseOrder struct {
	ID         string `json:"id"`
	Number     string `json:"poNo"`
	SupplierID string `json:"supplierId"`
	// SupplierAddressID names the supplier address the goods ship from
	// (one of ListSupplierAddresses).
	SupplierAddressID string `json:"supplierAddressId,omitempty"`
	// ShipTo is the code of the receiving building.
	ShipTo    string              `json:"shipTo,omitempty"`
	Status    string              `json:"status,omitempty"`
	Currency  string              `json:"currency,omitempty"`
	OrderDate time.Time           `json:"orderDate"`
	Lines     []PurchaseOrderLine `json:"lineItems,omitempty"`
}

// PurchaseOrderLine is one line item of a purchase order.
type PurchaseOrderLine struct {
	ID          string          `json:"id"`
	LineNumber  int             `json:"lineNo"`
	PartNumber  string          `json:"partNo,omitempty"`
	Description string          `json:"description,omitempty"`
	Quantity    decimal.Decimal `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unitPrice"`
	Amount      decimal.Decimal `json:"amount"`
	TaxCode     string          `json:"taxCode,omitempty"`
	// TaxAmount is the tax written back onto the line
	// (PutPurchaseOrderLineTax); nil until one is written.
	TaxAmount *decimal.Decimal `json:"taxAmount,omitempty"`
}

// Supplier is a Plex supplier.
type Supplier struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Status string `json:"status,omitempty"`
}

// SupplierAddress is one address of a supplier.
type SupplierAddress struct {
	ID         string `json:"id"`
	SupplierID string `json:"supplierId"`
	Code       string `json:"code,omitempty"`
	Line1      string `json:"address1,omitempty"`
	Line2      string `json:"address2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"zip,omitempty"`
	Country    string `json:"country,omitempty"`
	ShipTo     bool   `json:"shipTo"`
	BillTo     bool   `json:"billTo"`
}

// SupplierPurchasingDefaults are the purchasing settings of a supplier;
// DefaultTaxCode applies to line items without a tax code of their own.
type SupplierPurchasingDefaults struct {
	SupplierID     string `json:"supplierId"`
	DefaultTaxCode string `json:"defaultTaxCode,omitempty"`
}

// PurchaseOrderLineTaxInput is the body of PutPurchaseOrderLineTax.
type PurchaseOrderLineTaxInput struct {
	TaxAmount decimal.Decimal `json:"taxAmount"`
}

// PriceAdjustmentInput is the tax written back to a sales order. Type and
// Description together identify the adjustment: writing the same pair
// again replaces its amount instead of adding a second adjustment, which
// makes the write-back safe to repeat.
type PriceAdjustmentInput struct {
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Amount      decimal.Decimal `json:"amount"`
}

// PriceAdjustment is a price adjustment recorded on a sales order.
type PriceAdjustment struct {
	ID          string          `json:"id"`
	OrderID     string          `json:"orderId"`
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Amount      decimal.Decimal `json:"amount"`
	UpdatedDate time.Time       `json:"updatedDate"`
}
