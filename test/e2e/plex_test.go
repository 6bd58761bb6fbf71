package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
	"github.com/taxbridge/taxbridge/internal/secrets"
	"github.com/taxbridge/taxbridge/internal/testwait"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// plexWorld is one NATS server, the AvaTax sandbox and the Plex sandbox,
// both over HTTP, which any number of taxbridge replicas share.
type plexWorld struct {
	t       *testing.T
	emb     *bus.Embedded
	avatax  *avataxsim.Sandbox
	avaURL  string
	plex    *plexsim.Sandbox
	plexURL string
	read    *plex.Client // the test's own view of Plex
	apiKey  string
	logs    syncBuffer // every replica's log, at debug level
}

// newPlexWorld starts the world with a Plex sandbox accepting the default key.
func newPlexWorld(t *testing.T) *plexWorld { return newPlexWorldWithKey(t, plexsim.DefaultAPIKey) }

// newPlexWorldWithKey starts the world with a Plex sandbox accepting apiKey.
func newPlexWorldWithKey(t *testing.T, apiKey string) *plexWorld {
	t.Helper()
	emb, err := bus.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	w := &plexWorld{t: t, emb: emb, avatax: avataxsim.New(),
		plex: plexsim.New(plexsim.WithBudget(-1, 0), plexsim.WithAPIKey(apiKey)), apiKey: apiKey}
	ava := httptest.NewServer(w.avatax)
	t.Cleanup(ava.Close)
	px := httptest.NewServer(w.plex)
	t.Cleanup(px.Close)
	w.avaURL, w.plexURL = ava.URL, px.URL
	if w.read, err = plex.New(px.URL, plex.Credentials{APIKey: w.apiKey}, plex.WithBudget(-1, time.Minute)); err != nil {
		t.Fatal(err)
	}
	return w
}

// replica starts a taxbridge on the world as an operator would configure
// it, and runs it until the test ends or stop is called. stop cancels
// nothing the way a crash would not: it closes the NATS connection first,
// so the replica's lease is neither renewed nor released.
func (w *plexWorld) replica(adjust ...func(*config.Config)) (a *app.App, crash func()) {
	w.t.Helper()
	cfg, err := config.Load(config.CredentialsFromStore, func(c *config.Config) {
		c.NATSURL, c.HTTPListen, c.DataDir = w.emb.URL(), "", w.t.TempDir()
		c.AvaTax, c.AvaTaxURL = config.AvaTaxAvalara, w.avaURL
		c.AvaTaxAccountID, c.AvaTaxLicenseKey = avataxsim.DefaultAccountID, avataxsim.DefaultLicenseKey
		c.PlexURL, c.PlexAPIKey = w.plexURL, w.apiKey
		// The sandbox's budget is off: these tests are about what is
		// taxed, not about Plex's pace (the benchmark measures that).
		c.PlexPollInterval, c.PlexLeaseTTL, c.PlexBudget = 100*time.Millisecond, 2*time.Second, 1_000_000
		c.PlexReferenceMaxAge = 0 // addresses corrected in Plex are seen at the next poll
		c.AckWait, c.AvaTaxTimeout = 5*time.Second, 2*time.Second
		for _, f := range adjust {
			f(c)
		}
	})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err = app.Start(ctx, cfg, slog.New(slog.NewJSONHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		cancel()
		w.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func(crash bool) {
		if stopped {
			return
		}
		stopped = true
		if crash {
			a.NC.Close()
		}
		cancel()
		<-done
		a.Close()
	}
	w.t.Cleanup(func() { stop(false) })
	return a, func() { stop(true) }
}

var (
	seattleAddress = plex.CustomerAddress{Line1: "100 Pine St", City: "Seattle", State: "WA", PostalCode: "98101", Country: "US", ShipTo: true, BillTo: true}
	orderDate      = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
)

func (w *plexWorld) customer(id, code string, exemptNo string, addr plex.CustomerAddress) {
	c := plex.Customer{ID: id, Code: code, Name: code}
	if exemptNo != "" {
		c.Financials = plex.CustomerFinancials{SalesTaxExempt: true, SalesTaxExemptNo: exemptNo}
	}
	w.plex.PutCustomer(c)
	addr.ID, addr.CustomerID = id+"-A", id
	w.plex.PutCustomerAddresses(id, addr)
}

func salesOrder(id, customerID, status string, amounts ...string) plex.SalesOrder {
	so := plex.SalesOrder{ID: id, Number: id, CustomerID: customerID, Status: status, Currency: "USD", OrderDate: orderDate}
	for i, a := range amounts {
		so.Lines = append(so.Lines, plex.SalesOrderLine{ID: id + "-L" + string(rune('1'+i)), LineNumber: i + 1, PartNumber: "PART-" + string(rune('A'+i)),
			Quantity: decimal.NewFromInt(1), UnitPrice: decimal.RequireFromString(a), Amount: decimal.RequireFromString(a)})
	}
	return so
}

// record is the worker's record of a Plex order.
func (w *plexWorld) record(a *app.App, kind, plexID string) (lifecycle.State, int64) {
	rec, _, err := a.Store.Get(context.Background(), events.PlexOrderID(kind, plexID))
	if err != nil {
		w.t.Fatal(err)
	}
	return rec.State, rec.ActionVersion
}

func (w *plexWorld) eventually(what string, cond func() bool) {
	w.t.Helper()
	testwait.Eventually(w.t, what, cond)
}

// adjustment is the sales tax written back on a sales order ("" if none).
func (w *plexWorld) adjustment(orderID string) (string, int) {
	adj := w.plex.PriceAdjustments(orderID)
	if len(adj) == 0 {
		return "", 0
	}
	return adj[0].Amount.StringFixed(2), len(adj)
}

func (w *plexWorld) saleTax(code, docType string) (string, string) {
	doc, ok := w.avatax.Document(avataxsim.DefaultCompany, code, docType)
	if !ok {
		return "", ""
	}
	return doc.TotalTax.StringFixed(2), doc.Status
}

// TestPlexSalesOrders: new, modified, unchanged, closed and cancelled
// sales orders, an exempt customer and a bad address corrected in Plex,
// all polled from the Plex sandbox, taxed in the AvaTax sandbox and
// written back to Plex; judged from the two sandboxes.
func TestPlexSalesOrders(t *testing.T) {
	w := newPlexWorld(t)
	w.customer("C1", "ACME", "", seattleAddress)
	w.customer("C2", "SCHOOL", "EXEMPT-42", seattleAddress)
	bad := seattleAddress
	bad.PostalCode = "00000"
	w.customer("C3", "TYPO", "", bad)
	w.plex.PutSalesOrder(salesOrder("SO-1", "C1", "Open", "400.00", "55.55"))
	w.plex.PutSalesOrder(salesOrder("SO-2", "C1", "Open", "100.00"))
	w.plex.PutSalesOrder(salesOrder("SO-3", "C2", "Open", "250.00"))
	w.plex.PutSalesOrder(salesOrder("SO-4", "C3", "Open", "80.00"))
	a, _ := w.replica()

	// New: taxed uncommitted, the tax written back once.
	w.eventually("SO-1 taxed and written back", func() bool {
		tax, status := w.saleTax("PLEX-SO-1", avatax.SalesInvoice)
		got, n := w.adjustment("SO-1")
		return status == avatax.StatusSaved && tax != "" && got == tax && n == 1
	})
	tax1, _ := w.saleTax("PLEX-SO-1", avatax.SalesInvoice)

	// Exempt: the certificate reaches AvaTax, no tax.
	w.eventually("SO-3 taxed", func() bool { tax, _ := w.saleTax("PLEX-SO-3", avatax.SalesInvoice); return tax != "" })
	if doc, _ := w.avatax.Document(avataxsim.DefaultCompany, "PLEX-SO-3", avatax.SalesInvoice); doc.ExemptNo != "EXEMPT-42" || !doc.TotalTax.IsZero() {
		t.Errorf("exempt customer's document: exemptNo %q, tax %s", doc.ExemptNo, doc.TotalTax)
	}

	// Bad address: a tax error naming the order and the field, no document.
	id4 := events.PlexOrderID(events.PlexSalesOrder, "SO-4")
	var errs []events.ErrorData
	w.eventually("a tax error for SO-4", func() bool {
		errs = w.view(a).TaxErrors(id4)
		return len(errs) > 0
	})
	if errs[0].Code != "invalid_address" || errs[0].Field != "/data/order/delivery/destination/address" {
		t.Fatalf("SO-4: %+v, want invalid_address on the destination", errs[0])
	}

	// Unchanged: polls go on, nothing more is published or written.
	published := w.published(a)
	writes := w.plex.Stats().Writes()
	cycles := w.plex.Stats().Requests
	w.eventually("three more polls", func() bool { return w.plex.Stats().Requests > cycles+9 })
	if n := w.published(a); n != published {
		t.Fatalf("unchanged orders published %d more events", n-published)
	}
	if n := w.plex.Stats().Writes(); n != writes {
		t.Fatalf("unchanged orders wrote %d more times to Plex", n-writes)
	}

	// The address corrected in Plex: taxed on a later poll, no replay.
	fixed := seattleAddress
	fixed.ID, fixed.CustomerID = "C3-A", "C3"
	w.plex.PutCustomerAddresses("C3", fixed)
	w.eventually("SO-4 taxed after the correction", func() bool {
		tax, _ := w.saleTax("PLEX-SO-4", avatax.SalesInvoice)
		got, _ := w.adjustment("SO-4")
		return tax != "" && got == tax
	})

	// Modified: the same document adjusted, the same adjustment updated.
	w.plex.PutSalesOrder(salesOrder("SO-1", "C1", "Open", "400.00", "155.55"))
	w.eventually("SO-1 retaxed and written back", func() bool {
		tax, _ := w.saleTax("PLEX-SO-1", avatax.SalesInvoice)
		got, n := w.adjustment("SO-1")
		return tax != tax1 && got == tax && n == 1
	})

	// Closed: committed; the tax is unchanged, so nothing is written.
	writes = w.plex.Stats().WritesChanged
	w.plex.PutSalesOrder(salesOrder("SO-1", "C1", "Closed", "400.00", "155.55"))
	w.eventually("SO-1 committed", func() bool {
		_, status := w.saleTax("PLEX-SO-1", avatax.SalesInvoice)
		return status == avatax.StatusCommitted
	})
	if st, _ := w.record(a, events.PlexSalesOrder, "SO-1"); st != lifecycle.Committed {
		t.Fatalf("SO-1 state %s, want committed", st)
	}

	// Cancelled: voided, the tax written back as zero.
	w.eventually("SO-2 written back", func() bool { got, _ := w.adjustment("SO-2"); return got != "" && got != "0.00" })
	w.plex.PutSalesOrder(salesOrder("SO-2", "C1", "Cancelled", "100.00"))
	w.eventually("SO-2 voided and zeroed in Plex", func() bool {
		_, status := w.saleTax("PLEX-SO-2", avatax.SalesInvoice)
		got, n := w.adjustment("SO-2")
		return status == avatax.StatusCancelled && got == "0.00" && n == 1
	})
	if n := w.plex.Stats().WritesChanged - writes; n != 1 {
		t.Errorf("%d changing writes for a commit (same tax) and a void, want 1 (the void's zero)", n)
	}
	if n := w.plex.Stats().WritesUnchanged; n != 0 {
		t.Errorf("%d writes repeated a tax Plex already had", n)
	}
}

// TestPlexPurchaseOrder: a purchase order is a PurchaseInvoice (consumer
// use tax) from the supplier's address to the receiving plant, its lines'
// tax codes from the line or the supplier's defaults, committed when
// Received; each line's tax is written back onto the line.
func TestPlexPurchaseOrder(t *testing.T) {
	w := newPlexWorld(t)
	w.plex.PutSupplier(plex.Supplier{ID: "S1", Code: "STEEL", Name: "Steel Inc"})
	w.plex.PutSupplierAddresses("S1", plex.SupplierAddress{ID: "S1-A", SupplierID: "S1", Line1: "9 Dock Rd", City: "Toledo",
		State: "OH", PostalCode: "43604", Country: "US"})
	w.plex.PutSupplierPurchasingDefaults(plex.SupplierPurchasingDefaults{SupplierID: "S1", DefaultTaxCode: "P0000000"})
	po := plex.PurchaseOrder{ID: "PO-7", Number: "4500", SupplierID: "S1", SupplierAddressID: "S1-A", ShipTo: "PLANT-DETROIT",
		Status: "Open", Currency: "USD", OrderDate: orderDate, Lines: []plex.PurchaseOrderLine{
			{ID: "PO-7-1", LineNumber: 1, PartNumber: "COIL", Quantity: decimal.NewFromInt(10), UnitPrice: decimal.RequireFromString("30"),
				Amount: decimal.RequireFromString("300.00"), TaxCode: "PC040100"},
			{ID: "PO-7-2", LineNumber: 2, PartNumber: "BOLTS", Quantity: decimal.RequireFromString("2.5"), UnitPrice: decimal.RequireFromString("10"),
				Amount: decimal.RequireFromString("25.00")},
		}}
	w.plex.PutPurchaseOrder(po)
	a, _ := w.replica()

	lineTax := func() map[string]string {
		got, err := w.read.GetPurchaseOrder(context.Background(), "PO-7")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, l := range got.Lines {
			if l.TaxAmount != nil {
				out[l.ID] = l.TaxAmount.StringFixed(2)
			}
		}
		return out
	}
	var doc avatax.TransactionModel
	w.eventually("PO-7 taxed and its lines written back", func() bool {
		var ok bool
		doc, ok = w.avatax.Document(avataxsim.DefaultCompany, "PLEX-PO-4500", "PurchaseInvoice")
		return ok && len(lineTax()) == 2
	})
	if !doc.TotalTax.IsPositive() || !hasRegion(doc, "OH") || !hasRegion(doc, "MI") {
		t.Fatalf("PurchaseInvoice: tax %s, addresses %+v; want use tax from OH to MI", doc.TotalTax, doc.Addresses)
	}
	codes, taxes := map[string]string{}, lineTax()
	for _, l := range doc.Lines {
		codes[l.LineNumber] = l.TaxCode
		if taxes[l.LineNumber] != l.Tax.StringFixed(2) {
			t.Errorf("line %s: %s written to Plex, AvaTax says %s", l.LineNumber, taxes[l.LineNumber], l.Tax.StringFixed(2))
		}
	}
	if codes["PO-7-1"] != "PC040100" || codes["PO-7-2"] != "P0000000" {
		t.Errorf("tax codes %v, want the line's, then the supplier's default", codes)
	}

	po.Status = "Received"
	w.plex.PutPurchaseOrder(po)
	w.eventually("PO-7 committed", func() bool {
		st, _ := w.record(a, events.PlexPurchaseOrder, "PO-7")
		return st == lifecycle.Committed
	})
	if doc, _ := w.avatax.Document(avataxsim.DefaultCompany, "PLEX-PO-4500", "PurchaseInvoice"); doc.Status != avatax.StatusCommitted {
		t.Fatalf("PurchaseInvoice %s after Received, want committed", doc.Status)
	}
}

// view reads what a replica's NATS holds, with the harness's readers.
func (w *plexWorld) view(a *app.App) *workertest.Harness {
	return &workertest.Harness{T: w.t, Ctx: context.Background(), JS: a.JS}
}

// published counts the poller's events in the OMS stream.
func (w *plexWorld) published(a *app.App) int {
	return len(w.view(a).Messages(bus.EventsStream, bus.PlexPrefix+">"))
}

// TestPlexRateLimitStorms: Plex and AvaTax each refuse half the calls
// with 429 while twenty orders are polled, taxed and written back: every
// order ends taxed and written back once, none is lost.
func TestPlexRateLimitStorms(t *testing.T) {
	w := newPlexWorld(t)
	w.customer("C1", "ACME", "", seattleAddress)
	const n = 20
	for i := range n {
		w.plex.PutSalesOrder(salesOrder(fmt.Sprintf("SO-%d", i), "C1", "Open", fmt.Sprintf("%d.99", 10+i)))
	}
	w.plex.SetFaults(plexsim.Faults{TooManyRequestsRate: 0.5, RetryAfter: -1, Seed: 7})
	w.avatax.SetFaults(avataxsim.Faults{TooManyRequestsRate: 0.5, RetryAfter: -1, Seed: 7})
	w.replica()

	w.eventually("every order taxed and written back", func() bool {
		for i := range n {
			id := fmt.Sprintf("SO-%d", i)
			tax, _ := w.saleTax("PLEX-"+id, avatax.SalesInvoice)
			if got, _ := w.adjustment(id); tax == "" || got != tax {
				return false
			}
		}
		return true
	})
	ps, as := w.plex.Stats(), w.avatax.Faults()
	if ps.Injected["429"] == 0 || as["429"] == 0 {
		t.Fatalf("no storm: Plex refused %d calls, AvaTax %d", ps.Injected["429"], as["429"])
	}
	t.Logf("Plex refused %d calls with 429, AvaTax %d", ps.Injected["429"], as["429"])
	for i := range n {
		if _, k := w.adjustment(fmt.Sprintf("SO-%d", i)); k != 1 {
			t.Errorf("SO-%d: %d adjustments, want 1", i, k)
		}
	}
	if ps.WritesChanged != n || ps.WritesUnchanged != 0 {
		t.Errorf("%d changing and %d repeated writes for %d orders, want %d and 0", ps.WritesChanged, ps.WritesUnchanged, n, n)
	}
}

// TestPlexPollerLeaseTakeover: of two replicas exactly one polls; when it
// dies holding the lease (no release, no renewal), the other takes over
// once the lease runs out, and orders created in Plex after the death are
// still taxed and written back.
func TestPlexPollerLeaseTakeover(t *testing.T) {
	w := newPlexWorld(t)
	w.customer("C1", "ACME", "", seattleAddress)
	w.plex.PutSalesOrder(salesOrder("SO-1", "C1", "Open", "10.00"))
	a, crashA := w.replica()
	b, crashB := w.replica()
	w.eventually("SO-1 written back", func() bool { got, _ := w.adjustment("SO-1"); return got != "" })
	var leader *app.App
	var crash func()
	w.eventually("one leader", func() bool {
		switch {
		case a.PlexPoller.Leader() && !b.PlexPoller.Leader():
			leader, crash = a, crashA
		case b.PlexPoller.Leader() && !a.PlexPoller.Leader():
			leader, crash = b, crashB
		}
		return leader != nil
	})
	other := a
	if leader == a {
		other = b
	}
	crash()
	died := time.Now()
	w.plex.PutSalesOrder(salesOrder("SO-2", "C1", "Open", "20.00"))
	w.eventually("SO-2 taxed and written back by the other replica", func() bool {
		tax, _ := w.saleTax("PLEX-SO-2", avatax.SalesInvoice)
		got, _ := w.adjustment("SO-2")
		return tax != "" && got == tax
	})
	if !other.PlexPoller.Leader() {
		t.Fatal("the surviving replica does not hold the lease")
	}
	t.Logf("taken over and taxed %s after the leader died (lease TTL 2s)", time.Since(died).Round(100*time.Millisecond))
	if n := len(w.avatax.Documents(avataxsim.DefaultCompany)); n != 2 {
		t.Errorf("%d documents for 2 orders", n)
	}
}

// syncBuffer is a bytes.Buffer several replicas may log to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPlexCredentialsFromTheStore: the Plex API key, kept only in the
// sealed credentials store (as taxctl credentials set leaves it), reaches
// Plex, and appears in clear nowhere taxbridge writes: not in its log at
// debug level, not in any message of its streams, not in the store.
func TestPlexCredentialsFromTheStore(t *testing.T) {
	const canary = "plex-key-canary-7f3a9c"
	w := newPlexWorldWithKey(t, canary)
	key := make([]byte, secrets.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	nc, err := w.emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := secrets.Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Set(ctx, secrets.PlexAPIKey, canary); err != nil {
		t.Fatal(err)
	}
	w.customer("C1", "ACME", "", seattleAddress)
	w.plex.PutSalesOrder(salesOrder("SO-1", "C1", "Open", "10.00"))
	a, _ := w.replica(func(c *config.Config) {
		c.PlexAPIKey, c.SecretsKey = "", base64.StdEncoding.EncodeToString(key)
	})
	w.eventually("SO-1 written back with the stored key", func() bool { got, _ := w.adjustment("SO-1"); return got != "" })

	if strings.Contains(w.logs.String(), canary) {
		t.Error("the Plex API key is in the log")
	}
	for _, stream := range []string{bus.EventsStream, bus.ResultsStream, bus.AuditStream, "KV_" + secrets.Bucket} {
		msgs := w.view(a).Messages(stream, ">")
		if len(msgs) == 0 {
			t.Errorf("stream %s is empty: the test looks at nothing", stream)
		}
		for _, m := range msgs {
			if bytes.Contains(m.Data(), []byte(canary)) || strings.Contains(fmt.Sprint(m.Headers()), canary) {
				t.Errorf("the Plex API key is in clear in stream %s, subject %s", stream, m.Subject())
			}
		}
	}
}
