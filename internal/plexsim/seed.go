package plexsim

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/taxbridge/taxbridge/internal/plex"
)

// Seed is the data a sandbox starts with; cmd/plex-sandbox reads it from
// a JSON file. Addresses name their customer by CustomerID, supplier
// addresses and purchasing defaults their supplier by SupplierID.
type Seed struct {
	SalesOrders        []plex.SalesOrder                 `json:"salesOrders"`
	Customers          []plex.Customer                   `json:"customers"`
	Addresses          []plex.CustomerAddress            `json:"addresses"`
	PurchaseOrders     []plex.PurchaseOrder              `json:"purchaseOrders"`
	Suppliers          []plex.Supplier                   `json:"suppliers"`
	SupplierAddresses  []plex.SupplierAddress            `json:"supplierAddresses"`
	PurchasingDefaults []plex.SupplierPurchasingDefaults `json:"purchasingDefaults"`
}

// ReadSeed decodes a Seed, refusing unknown fields so a typo in a seed
// file is an error rather than missing data.
func ReadSeed(r io.Reader) (Seed, error) {
	var sd Seed
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sd); err != nil {
		return Seed{}, fmt.Errorf("plexsim: seed: %w", err)
	}
	return sd, nil
}

// Load adds (or replaces) everything in the seed.
func (s *Sandbox) Load(sd Seed) error {
	for _, o := range sd.SalesOrders {
		if o.ID == "" {
			return fmt.Errorf("plexsim: seed: a sales order has no id")
		}
	}
	for _, c := range sd.Customers {
		if c.ID == "" {
			return fmt.Errorf("plexsim: seed: a customer has no id")
		}
	}
	for _, a := range sd.Addresses {
		if a.CustomerID == "" {
			return fmt.Errorf("plexsim: seed: address %q has no customerId", a.ID)
		}
	}
	for _, p := range sd.PurchaseOrders {
		if p.ID == "" {
			return fmt.Errorf("plexsim: seed: a purchase order has no id")
		}
	}
	for _, p := range sd.Suppliers {
		if p.ID == "" {
			return fmt.Errorf("plexsim: seed: a supplier has no id")
		}
	}
	for _, a := range sd.SupplierAddresses {
		if a.SupplierID == "" {
			return fmt.Errorf("plexsim: seed: supplier address %q has no supplierId", a.ID)
		}
	}
	for _, d := range sd.PurchasingDefaults {
		if d.SupplierID == "" {
			return fmt.Errorf("plexsim: seed: purchasing defaults have no supplierId")
		}
	}
	for _, o := range sd.SalesOrders {
		s.PutSalesOrder(o)
	}
	for _, c := range sd.Customers {
		s.PutCustomer(c)
	}
	byCustomer := map[string][]plex.CustomerAddress{}
	for _, a := range sd.Addresses {
		byCustomer[a.CustomerID] = append(byCustomer[a.CustomerID], a)
	}
	for id, as := range byCustomer {
		s.PutCustomerAddresses(id, as...)
	}
	for _, p := range sd.PurchaseOrders {
		s.PutPurchaseOrder(p)
	}
	for _, p := range sd.Suppliers {
		s.PutSupplier(p)
	}
	bySupplier := map[string][]plex.SupplierAddress{}
	for _, a := range sd.SupplierAddresses {
		bySupplier[a.SupplierID] = append(bySupplier[a.SupplierID], a)
	}
	for id, as := range bySupplier {
		s.PutSupplierAddresses(id, as...)
	}
	s.PutSupplierPurchasingDefaults(sd.PurchasingDefaults...)
	return nil
}

// PutSalesOrder adds or replaces a sales order; its dates are normalised
// to Plex's form (UTC, whole seconds).
func (s *Sandbox) PutSalesOrder(o plex.SalesOrder) {
	o.OrderDate = plex.Date(o.OrderDate)
	o.Lines = slices.Clone(o.Lines)
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
}

// PutCustomer adds or replaces a customer.
func (s *Sandbox) PutCustomer(c plex.Customer) {
	s.mu.Lock()
	s.customers[c.ID] = c
	s.mu.Unlock()
}

// PutCustomerAddresses replaces the addresses of a customer.
func (s *Sandbox) PutCustomerAddresses(customerID string, as ...plex.CustomerAddress) {
	out := slices.Clone(as)
	for i := range out {
		out[i].CustomerID = customerID
	}
	s.mu.Lock()
	s.addresses[customerID] = out
	s.mu.Unlock()
}

// PutPurchaseOrder adds or replaces a purchase order.
func (s *Sandbox) PutPurchaseOrder(p plex.PurchaseOrder) {
	p.OrderDate = plex.Date(p.OrderDate)
	p.Lines = slices.Clone(p.Lines)
	s.mu.Lock()
	s.pos[p.ID] = p
	s.mu.Unlock()
}

// PutSupplier adds or replaces a supplier.
func (s *Sandbox) PutSupplier(p plex.Supplier) {
	s.mu.Lock()
	s.suppliers[p.ID] = p
	s.mu.Unlock()
}

// DeleteSalesOrder removes a sales order and its price adjustments, as when
// it is deleted in Plex: reads and writes of it get 404 afterwards.
func (s *Sandbox) DeleteSalesOrder(id string) {
	s.mu.Lock()
	delete(s.orders, id)
	delete(s.adjustments, id)
	s.mu.Unlock()
}

// DeletePurchaseOrder removes a purchase order (404 afterwards).
func (s *Sandbox) DeletePurchaseOrder(id string) {
	s.mu.Lock()
	delete(s.pos, id)
	s.mu.Unlock()
}

// PutSupplierAddresses replaces the addresses of a supplier.
func (s *Sandbox) PutSupplierAddresses(supplierID string, as ...plex.SupplierAddress) {
	out := slices.Clone(as)
	for i := range out {
		out[i].SupplierID = supplierID
	}
	s.mu.Lock()
	s.supAddrs[supplierID] = out
	s.mu.Unlock()
}

// PutSupplierPurchasingDefaults adds or replaces the purchasing defaults
// of suppliers (each names its SupplierID).
func (s *Sandbox) PutSupplierPurchasingDefaults(ds ...plex.SupplierPurchasingDefaults) {
	s.mu.Lock()
	for _, d := range ds {
		s.purDefaults[d.SupplierID] = d
	}
	s.mu.Unlock()
}

// PriceAdjustments returns the adjustments written back to an order.
func (s *Sandbox) PriceAdjustments(orderID string) []plex.PriceAdjustment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.adjustments[orderID])
}
