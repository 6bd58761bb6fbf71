// Package loadtest measures a Plex poll cycle at scale: it seeds a Plex
// sandbox with many orders, runs the poller against it over HTTP with the
// real client and an embedded nats-server, and reports the duration and
// the Plex calls of a cycle, in minutes of Plex's budget of 200 calls per
// minute. BenchmarkPollCycle in plexpoll and test/bench use it.
package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexpoll"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

// Spec says what to seed.
type Spec struct {
	SalesOrders    int // default 10,000
	Customers      int // default 500; orders are spread round robin
	PurchaseOrders int // default 0
	Suppliers      int // default 1 when there are purchase orders
	Lines          int // lines per order, default 3
}

func (s Spec) withDefaults() Spec {
	if s.SalesOrders == 0 {
		s.SalesOrders = 10000
	}
	if s.Customers <= 0 {
		s.Customers = 500
	}
	if s.PurchaseOrders > 0 && s.Suppliers <= 0 {
		s.Suppliers = 1
	}
	if s.Lines <= 0 {
		s.Lines = 3
	}
	return s
}

var date = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// Seed fills sb with the customers (one ship-to address each), the sales
// orders, the suppliers (one address, purchasing defaults) and the
// purchase orders of spec.
func Seed(sb *plexsim.Sandbox, spec Spec) {
	spec = spec.withDefaults()
	for c := range spec.Customers {
		id := fmt.Sprintf("C-%d", c)
		sb.PutCustomer(plex.Customer{ID: id, Code: fmt.Sprintf("CUST%05d", c), Name: "Customer " + id,
			Financials: plex.CustomerFinancials{SalesTaxExempt: c%10 == 0, SalesTaxExemptNo: fmt.Sprintf("EX-%d", c)}})
		sb.PutCustomerAddresses(id, plex.CustomerAddress{ID: "A-" + id, Line1: fmt.Sprintf("%d Main St", c+1),
			City: "Seattle", State: "WA", PostalCode: "98101", Country: "US", ShipTo: true, BillTo: true})
	}
	for i := range spec.SalesOrders {
		sb.PutSalesOrder(SalesOrder(i, fmt.Sprintf("C-%d", i%spec.Customers), spec.Lines, 0))
	}
	for s := range spec.Suppliers {
		id := fmt.Sprintf("S-%d", s)
		sb.PutSupplier(plex.Supplier{ID: id, Code: fmt.Sprintf("SUP%04d", s), Name: "Supplier " + id})
		sb.PutSupplierAddresses(id, plex.SupplierAddress{ID: "SA-" + id, Line1: "1 Mill Rd", City: "Pittsburgh", State: "PA", PostalCode: "15201", Country: "US"})
		sb.PutSupplierPurchasingDefaults(plex.SupplierPurchasingDefaults{SupplierID: id, DefaultTaxCode: "PS081282"})
	}
	for i := range spec.PurchaseOrders {
		sb.PutPurchaseOrder(plex.PurchaseOrder{ID: fmt.Sprintf("PO-%d", i), Number: fmt.Sprintf("P%06d", i),
			SupplierID: fmt.Sprintf("S-%d", i%spec.Suppliers), ShipTo: "BLDG-1", Status: "Open", Currency: "USD", OrderDate: date,
			Lines: []plex.PurchaseOrderLine{{ID: "PL-1", LineNumber: 1, PartNumber: "STEEL", Quantity: decimal.NewFromInt(2), Amount: decimal.NewFromInt(800)}}})
	}
}

// SalesOrder is sales order i of customer with the given lines; bump
// changes its amounts, so that Seed then SalesOrder(i, c, n, 1) makes a
// changed order.
func SalesOrder(i int, customer string, lines, bump int) plex.SalesOrder {
	so := plex.SalesOrder{ID: fmt.Sprintf("SO-%d", i), Number: fmt.Sprintf("S%06d", i), CustomerID: customer,
		Status: "Open", Currency: "USD", OrderDate: date}
	for l := range lines {
		qty := decimal.NewFromInt(int64(l + 1))
		unit := decimal.New(int64(1000+i%97+bump), -2)
		so.Lines = append(so.Lines, plex.SalesOrderLine{ID: fmt.Sprintf("L-%d", l+1), LineNumber: l + 1, PartNumber: fmt.Sprintf("PART-%d", l),
			Quantity: qty, UnitPrice: unit, Amount: unit.Mul(qty), TaxCode: "P0000000"})
	}
	return so
}

// Env is a poller wired to a seeded sandbox and an embedded nats-server.
type Env struct {
	Sandbox *plexsim.Sandbox
	Poller  *plexpoll.Poller
	JS      jetstream.JetStream
	Spec    Spec
	close   []func()
}

// Close stops the servers and removes the store.
func (e *Env) Close() {
	for i := len(e.close) - 1; i >= 0; i-- {
		e.close[i]()
	}
}

// New seeds a sandbox (no budget: the calls are counted, not throttled),
// serves it over HTTP, starts an embedded nats-server with the streams
// provisioned and returns a poller of it (logging discarded unless opts
// say otherwise).
func New(spec Spec, opts ...plexpoll.Option) (_ *Env, err error) {
	e := &Env{Spec: spec.withDefaults()}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.Sandbox = plexsim.New(plexsim.WithBudget(-1, 0))
	Seed(e.Sandbox, e.Spec)
	srv := httptest.NewServer(e.Sandbox)
	e.close = append(e.close, srv.Close)
	client, err := plex.New(srv.URL, plex.Credentials{APIKey: plexsim.DefaultAPIKey}, plex.WithBudget(0, 0))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "plexpoll-loadtest-")
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, func() { os.RemoveAll(dir) })
	emb, err := bus.StartEmbedded(dir, "")
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, emb.Shutdown)
	nc, err := emb.Connect()
	if err != nil {
		return nil, err
	}
	e.close = append(e.close, nc.Close)
	if e.JS, err = jetstream.New(nc); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := bus.Provision(ctx, e.JS, bus.DefaultTopology); err != nil {
		return nil, err
	}
	opts = append([]plexpoll.Option{plexpoll.WithLogger(slog.New(slog.DiscardHandler)), plexpoll.WithDefaultBuilding("BLDG-1")}, opts...)
	if e.Poller, err = plexpoll.New(e.JS, client, opts...); err != nil {
		return nil, err
	}
	e.close = append(e.close, func() { _ = e.Poller.Close(context.Background()) })
	return e, nil
}

// Result is what Run measured.
type Result struct {
	Spec Spec
	// First is the cycle that publishes every order; Second the cycle
	// after it, with nothing changed.
	First, Second plexpoll.Cycle
	// Requests is what the sandbox served for both cycles (retries
	// included); it equals First.Calls + Second.Calls without faults.
	Requests int
}

// BudgetMinutes is the minutes of Plex's budget (200 calls per minute)
// that a cycle's calls spend: how long the cycle takes at least with the
// client held to Plex's budget, and how long the key has no calls left for
// anything else (the tax write-back shares it).
func BudgetMinutes(c plexpoll.Cycle) float64 { return c.BudgetMinutes(plex.DefaultBudget) }

// Run seeds spec, runs two cycles and reports them.
func Run(ctx context.Context, spec Spec, opts ...plexpoll.Option) (Result, error) {
	e, err := New(spec, opts...)
	if err != nil {
		return Result{}, err
	}
	defer e.Close()
	r := Result{Spec: e.Spec}
	if r.First, err = e.Poller.Poll(ctx); err != nil {
		return r, err
	}
	if r.Second, err = e.Poller.Poll(ctx); err != nil {
		return r, err
	}
	r.Requests = e.Sandbox.Stats().Requests
	return r, nil
}

// String prints the figures.
func (r Result) String() string {
	line := func(name string, c plexpoll.Cycle) string {
		return fmt.Sprintf("%s cycle: %d orders, %d published, %d unchanged, %d failed in %v; %d Plex calls = %.2f min of a 200/min budget\n",
			name, c.Seen, c.Published, c.Unchanged, c.Failed, c.Duration.Round(time.Millisecond), c.Calls, BudgetMinutes(c))
	}
	return fmt.Sprintf("%d sales orders of %d customers, %d purchase orders of %d suppliers, %d lines each\n",
		r.Spec.SalesOrders, r.Spec.Customers, r.Spec.PurchaseOrders, r.Spec.Suppliers, r.Spec.Lines) +
		line("first", r.First) + line("second", r.Second)
}
