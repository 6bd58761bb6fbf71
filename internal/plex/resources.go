package plex

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/shopspring/decimal"
)

func escape(id string) string { return url.PathEscape(id) }

// ListSalesOrders returns the sales orders. Plex returns them all at once
// (no pagination) and may ignore filters, so callers must filter again.
func (c *Client) ListSalesOrders(ctx context.Context, filter url.Values) ([]SalesOrder, error) {
	var out []SalesOrder
	err := c.do(ctx, call{method: http.MethodGet, route: "/sales/v1/orders", path: "/sales/v1/orders", query: filter, out: &out})
	return out, err
}

// GetSalesOrder returns a sales order with its lines and prices.
func (c *Client) GetSalesOrder(ctx context.Context, id string) (*SalesOrder, error) {
	var out SalesOrder
	if err := c.do(ctx, call{method: http.MethodGet, route: "/sales/v1/orders/{id}", path: "/sales/v1/orders/" + escape(id), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCustomer returns a customer with its tax exemption.
func (c *Client) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	var out Customer
	if err := c.do(ctx, call{method: http.MethodGet, route: "/mdm/v1/customers/{id}", path: "/mdm/v1/customers/" + escape(id), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCustomerAddresses returns the addresses of a customer.
func (c *Client) ListCustomerAddresses(ctx context.Context, customerID string) ([]CustomerAddress, error) {
	var out []CustomerAddress
	err := c.do(ctx, call{method: http.MethodGet, route: "/mdm/v1/customers/{id}/addresses", path: "/mdm/v1/customers/" + escape(customerID) + "/addresses", out: &out})
	return out, err
}

// ListPurchaseOrders returns the purchase orders (no pagination; filters
// may be ignored).
func (c *Client) ListPurchaseOrders(ctx context.Context, filter url.Values) ([]PurchaseOrder, error) {
	var out []PurchaseOrder
	err := c.do(ctx, call{method: http.MethodGet, route: "/purchasing/v1/purchase-orders", path: "/purchasing/v1/purchase-orders", query: filter, out: &out})
	return out, err
}

// GetPurchaseOrder returns a purchase order with its line items.
func (c *Client) GetPurchaseOrder(ctx context.Context, id string) (*PurchaseOrder, error) {
	var out PurchaseOrder
	if err := c.do(ctx, call{method: http.MethodGet, route: "/purchasing/v1/purchase-orders/{id}", path: "/purchasing/v1/purchase-orders/" + escape(id), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSupplier returns a supplier.
func (c *Client) GetSupplier(ctx context.Context, id string) (*Supplier, error) {
	var out Supplier
	if err := c.do(ctx, call{method: http.MethodGet, route: "/mdm/v1/suppliers/{id}", path: "/mdm/v1/suppliers/" + escape(id), out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSupplierAddresses returns the addresses of a supplier.
func (c *Client) ListSupplierAddresses(ctx context.Context, supplierID string) ([]SupplierAddress, error) {
	var out []SupplierAddress
	err := c.do(ctx, call{method: http.MethodGet, route: "/mdm/v1/suppliers/{id}/addresses", path: "/mdm/v1/suppliers/" + escape(supplierID) + "/addresses", out: &out})
	return out, err
}

// GetSupplierPurchasingDefaults returns the purchasing defaults of a
// supplier (its default tax code). A supplier without any gets a 404
// (IsNotFound), as an unknown supplier does.
func (c *Client) GetSupplierPurchasingDefaults(ctx context.Context, supplierID string) (*SupplierPurchasingDefaults, error) {
	var out SupplierPurchasingDefaults
	if err := c.do(ctx, call{method: http.MethodGet, route: "/mdm/v1/suppliers/{id}/purchasing-defaults", path: "/mdm/v1/suppliers/" + escape(supplierID) + "/purchasing-defaults", out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutPurchaseOrderLineTax writes tax back onto one line item of a purchase
// order and returns the line. Writing the same amount again changes
// nothing, so it is idempotent and retried like PutPriceAdjustment.
func (c *Client) PutPurchaseOrderLineTax(ctx context.Context, poID, lineID string, tax decimal.Decimal) (*PurchaseOrderLine, error) {
	if poID == "" || lineID == "" {
		return nil, fmt.Errorf("plex: a line tax needs the purchase order id and the line item id")
	}
	var out PurchaseOrderLine
	if err := c.do(ctx, call{method: http.MethodPut, route: "/purchasing/v1/purchase-orders/{id}/line-items/{lineItemId}",
		path: "/purchasing/v1/purchase-orders/" + escape(poID) + "/line-items/" + escape(lineID),
		in:   PurchaseOrderLineTaxInput{TaxAmount: tax}, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutPriceAdjustment writes tax back onto a sales order. It is idempotent
// (the adjustment is identified by its type and description), so it is
// retried on 5xx and lost connections as well as on 429.
func (c *Client) PutPriceAdjustment(ctx context.Context, orderID string, in PriceAdjustmentInput) (*PriceAdjustment, error) {
	if in.Type == "" || in.Description == "" {
		return nil, fmt.Errorf("plex: price adjustment needs a type and a description (they identify it)")
	}
	var out PriceAdjustment
	if err := c.do(ctx, call{method: http.MethodPut, route: "/sales/v1/orders/{id}/price-adjustments", path: "/sales/v1/orders/" + escape(orderID) + "/price-adjustments", in: in, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListPriceAdjustments returns the price adjustments of a sales order.
func (c *Client) ListPriceAdjustments(ctx context.Context, orderID string) ([]PriceAdjustment, error) {
	var out []PriceAdjustment
	err := c.do(ctx, call{method: http.MethodGet, route: "/sales/v1/orders/{id}/price-adjustments", path: "/sales/v1/orders/" + escape(orderID) + "/price-adjustments", out: &out})
	return out, err
}
