package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

// PlexSandbox is the Plex sandbox the demo polls, served on loopback.
type PlexSandbox struct {
	*plexsim.Sandbox
	URL string
	srv *http.Server
}

// StartPlexSandbox serves an empty Plex sandbox over HTTP on loopback.
func StartPlexSandbox() (*PlexSandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo Plex sandbox: %w", err)
	}
	sb := plexsim.New()
	p := &PlexSandbox{Sandbox: sb, URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops serving.
func (p *PlexSandbox) Close() { _ = p.srv.Close() }

// ConfigurePlex points cfg's Plex integration at the demo's sandbox,
// polled every 200ms.
func ConfigurePlex(cfg *config.Config, p *PlexSandbox) {
	cfg.PlexURL, cfg.PlexAPIKey, cfg.PlexAPIKeyFile = p.URL, plexsim.DefaultAPIKey, ""
	cfg.PlexTenantID, cfg.PlexOAuthTokenURL, cfg.PlexOAuthClientID = "", "", ""
	cfg.PlexPollInterval, cfg.PlexWriteback = 200*time.Millisecond, true
	// The story corrects an address: see it at the next poll.
	cfg.PlexReferenceMaxAge = 0
}

// PlexStep is one change made in Plex and what taxbridge must make of it.
type PlexStep struct {
	Name   string
	Change func(*plexsim.Sandbox)
	// Done reports, from AvaTax's documents, the record and what was
	// written back to Plex, whether the step is through, and says so.
	Done func(context.Context, *app.App, *plexsim.Sandbox) (bool, string)
}

var demoDate = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func soLine(order string, n int, part, amount string) plex.SalesOrderLine {
	a := decimal.RequireFromString(amount)
	return plex.SalesOrderLine{ID: fmt.Sprintf("%s-%d", order, n), LineNumber: n, PartNumber: part,
		Quantity: decimal.NewFromInt(1), UnitPrice: a, Amount: a}
}

func salesOrder(id, customer, status string, lines ...plex.SalesOrderLine) plex.SalesOrder {
	return plex.SalesOrder{ID: id, Number: id, CustomerID: customer, Status: status, Currency: "USD", OrderDate: demoDate, Lines: lines}
}

func customer(sb *plexsim.Sandbox, id, code, zip string) {
	sb.PutCustomer(plex.Customer{ID: id, Code: code, Name: code})
	sb.PutCustomerAddresses(id, plex.CustomerAddress{ID: id + "-SHIP", CustomerID: id, Line1: "100 Pine St", City: "Seattle",
		State: "WA", PostalCode: zip, Country: "US", ShipTo: true, BillTo: true})
}

// PlexSteps is the demo's Plex story: a sales order taxed, modified and
// closed; a purchase order taxed for use tax; an order refused for its
// address, then taxed once the address is corrected in Plex.
func PlexSteps() []PlexStep {
	line1, line2 := soLine("SO-1001", 1, "GEAR-40", "400.00"), soLine("SO-1001", 2, "SHAFT-9", "55.55")
	po := plex.PurchaseOrder{ID: "PO-4500", Number: "4500", SupplierID: "S-STEEL", SupplierAddressID: "S-STEEL-1",
		ShipTo: "PLANT-DETROIT", Status: "Open", Currency: "USD", OrderDate: demoDate,
		Lines: []plex.PurchaseOrderLine{{ID: "PO-4500-1", LineNumber: 1, PartNumber: "COIL", Quantity: decimal.NewFromInt(10),
			UnitPrice: decimal.RequireFromString("30"), Amount: decimal.RequireFromString("300.00")}}}
	return []PlexStep{
		{Name: "sales order SO-1001 created (Open)", Change: func(sb *plexsim.Sandbox) {
			customer(sb, "C-ACME", "ACME", "98101")
			sb.PutSalesOrder(salesOrder("SO-1001", "C-ACME", "Open", line1, line2))
		}, Done: salesDone("SO-1001", avatax.StatusSaved)},
		{Name: "sales order SO-1001 modified in Plex (a line added)", Change: func(sb *plexsim.Sandbox) {
			sb.PutSalesOrder(salesOrder("SO-1001", "C-ACME", "Open", line1, line2, soLine("SO-1001", 3, "BEARING", "120.00")))
		}, Done: salesDone("SO-1001", avatax.StatusSaved, "575.55")},
		{Name: "sales order SO-1001 Closed", Change: func(sb *plexsim.Sandbox) {
			sb.PutSalesOrder(salesOrder("SO-1001", "C-ACME", "Closed", line1, line2, soLine("SO-1001", 3, "BEARING", "120.00")))
		}, Done: salesDone("SO-1001", avatax.StatusCommitted, "575.55")},
		{Name: "purchase order 4500 from supplier STEEL (Toledo, OH) to PLANT-DETROIT", Change: func(sb *plexsim.Sandbox) {
			sb.PutSupplier(plex.Supplier{ID: "S-STEEL", Code: "STEEL", Name: "Steel Inc"})
			sb.PutSupplierAddresses("S-STEEL", plex.SupplierAddress{ID: "S-STEEL-1", SupplierID: "S-STEEL", Line1: "9 Dock Rd",
				City: "Toledo", State: "OH", PostalCode: "43604", Country: "US"})
			sb.PutSupplierPurchasingDefaults(plex.SupplierPurchasingDefaults{SupplierID: "S-STEEL", DefaultTaxCode: "P0000000"})
			sb.PutPurchaseOrder(po)
		}, Done: purchaseDone("PO-4500", "PLEX-PO-4500")},
		{Name: "sales order SO-1002 for customer TYPO, whose ZIP code is 00000", Change: func(sb *plexsim.Sandbox) {
			customer(sb, "C-TYPO", "TYPO", "00000")
			sb.PutSalesOrder(salesOrder("SO-1002", "C-TYPO", "Open", soLine("SO-1002", 1, "GEAR-40", "80.00")))
		}, Done: refusedDone("SO-1002")},
		{Name: "TYPO's address corrected in Plex (ZIP 98101)", Change: func(sb *plexsim.Sandbox) {
			customer(sb, "C-TYPO", "TYPO", "98101")
		}, Done: salesDone("SO-1002", avatax.StatusSaved)},
	}
}

// salesDone: the sales order's document has the status (and the amount,
// when given), and its tax is written back to Plex.
func salesDone(id, status string, amount ...string) func(context.Context, *app.App, *plexsim.Sandbox) (bool, string) {
	return func(ctx context.Context, a *app.App, sb *plexsim.Sandbox) (bool, string) {
		doc, ok := sandboxDocument(a, "PLEX-"+id, avatax.SalesInvoice)
		if !ok || doc.Status != status || (len(amount) > 0 && doc.TotalAmount.StringFixed(2) != amount[0]) {
			return false, ""
		}
		adj := sb.PriceAdjustments(id)
		if len(adj) != 1 || !adj[0].Amount.Equal(doc.TotalTax) {
			return false, ""
		}
		return true, fmt.Sprintf("SalesInvoice %s %s: amount %s, tax %s; Plex price adjustment %q = %s",
			doc.Code, doc.Status, doc.TotalAmount.StringFixed(2), doc.TotalTax.StringFixed(2), adj[0].Description, adj[0].Amount.StringFixed(2))
	}
}

// purchaseDone: the purchase order's use tax is calculated and written
// onto its lines in Plex.
func purchaseDone(id, code string) func(context.Context, *app.App, *plexsim.Sandbox) (bool, string) {
	return func(ctx context.Context, a *app.App, sb *plexsim.Sandbox) (bool, string) {
		doc, ok := sandboxDocument(a, code, "PurchaseInvoice")
		if !ok || a.Plex == nil {
			return false, ""
		}
		po, err := a.Plex.GetPurchaseOrder(ctx, id)
		if err != nil || len(po.Lines) == 0 || po.Lines[0].TaxAmount == nil || !po.Lines[0].TaxAmount.Equal(doc.Lines[0].Tax) {
			return false, ""
		}
		return true, fmt.Sprintf("PurchaseInvoice %s %s: amount %s, use tax %s; written on line %s in Plex",
			doc.Code, doc.Status, doc.TotalAmount.StringFixed(2), doc.TotalTax.StringFixed(2), po.Lines[0].ID)
	}
}

// refusedDone: the order is refused with a tax error naming the field.
func refusedDone(id string) func(context.Context, *app.App, *plexsim.Sandbox) (bool, string) {
	return func(ctx context.Context, a *app.App, _ *plexsim.Sandbox) (bool, string) {
		orderID := events.PlexOrderID(events.PlexSalesOrder, id)
		d, _, err := bus.LastTaxError(ctx, a.JS, orderID)
		if err != nil || d == nil {
			return false, ""
		}
		rec, _, err := a.Store.Get(ctx, orderID)
		if err != nil || rec.State != lifecycle.None {
			return false, ""
		}
		return true, fmt.Sprintf("tax error %s on %s: %s", d.Code, d.Field, d.Message)
	}
}

func sandboxDocument(a *app.App, code, docType string) (avatax.TransactionModel, bool) {
	if a.Sandbox == nil {
		return avatax.TransactionModel{}, false
	}
	return a.Sandbox.Document(a.TaxConfig.Provider.CompanyCode, code, docType)
}

// Plex plays the steps against the demo's Plex sandbox, one at a time,
// waiting for each to be polled, taxed and written back, and reports them.
func Plex(ctx context.Context, a *app.App, sb *plexsim.Sandbox, steps []PlexStep, out io.Writer, timeout time.Duration) error {
	if a.PlexPoller == nil {
		return errors.New("the Plex integration is off: no poller")
	}
	fmt.Fprintf(out, "\n== Plex: orders polled from the Plex sandbox every %s, taxed, written back\n", a.Config.PlexPollInterval)
	failed := 0
	for _, st := range steps {
		st.Change(sb)
		ok, what := false, ""
		for deadline := time.Now().Add(timeout); !ok && time.Now().Before(deadline) && ctx.Err() == nil; {
			if ok, what = st.Done(ctx, a, sb); !ok {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if !ok {
			failed++
			fmt.Fprintf(out, "   %-70s FAILED: not done within %s\n", st.Name, timeout)
			continue
		}
		fmt.Fprintf(out, "   %-70s ok\n     %s\n", st.Name, what)
	}
	st := sb.Stats()
	fmt.Fprintf(out, "   Plex calls: %d (budget 200 per minute), writes: %d changed, %d repeated\n",
		st.Requests, st.WritesChanged, st.WritesUnchanged)
	if failed > 0 {
		return fmt.Errorf("%d of %d Plex steps did not end as expected", failed, len(steps))
	}
	fmt.Fprintf(out, "all %d Plex steps ended as expected\n", len(steps))
	return nil
}
