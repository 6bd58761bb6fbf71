package plexwriteback_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
	"github.com/taxbridge/taxbridge/internal/plexwriteback"
	"github.com/taxbridge/taxbridge/internal/testwait"
)

const testKey = "pk-writeback-7c6b5a4d3e2f"

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// env is one NATS server and one Plex sandbox; writers are started on it.
type env struct {
	t       *testing.T
	ctx     context.Context
	js      jetstream.JetStream
	sb      *plexsim.Sandbox
	url     string
	lastSeq atomic.Uint64
	logs    *syncBuffer
	spans   *tracetest.InMemoryExporter
	tp      *sdktrace.TracerProvider
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	emb, err := bus.StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Provision(ctx, js, bus.DefaultTopology); err != nil {
		t.Fatal(err)
	}
	sb := plexsim.New(plexsim.WithAPIKey(testKey), plexsim.WithBudget(-1, 0))
	sb.PutSalesOrder(plex.SalesOrder{ID: "SO-1", Number: "10001", CustomerID: "C-1",
		Lines: []plex.SalesOrderLine{{ID: "L-1", LineNumber: 1, Quantity: dec("1"), UnitPrice: dec("100"), Amount: dec("100")}}})
	sb.PutPurchaseOrder(plex.PurchaseOrder{ID: "PO-1", Number: "P-7", SupplierID: "S-1", Lines: []plex.PurchaseOrderLine{
		{ID: "PL-1", LineNumber: 1, Quantity: dec("2"), UnitPrice: dec("400"), Amount: dec("800")},
		{ID: "PL-2", LineNumber: 2, Quantity: dec("1"), UnitPrice: dec("20"), Amount: dec("20")},
	}})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	exp := tracetest.NewInMemoryExporter()
	return &env{t: t, ctx: ctx, js: js, sb: sb, url: srv.URL, logs: &syncBuffer{}, spans: exp,
		tp: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))}
}

// client is a Plex client of the sandbox that does not retry itself: the
// writer's redeliveries are what the tests watch.
func (e *env) client(key string) *plex.Client {
	e.t.Helper()
	c, err := plex.New(e.url, plex.Credentials{APIKey: key}, plex.WithBudget(-1, 0),
		plex.WithRetry(plex.RetryPolicy{MaxAttempts: 1}), plex.WithTracerProvider(e.tp))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// start runs a writer until the test ends.
func (e *env) start(pw plexwriteback.PlexWriter, opts ...plexwriteback.Option) {
	e.t.Helper()
	if pw == nil {
		pw = e.client(testKey)
	}
	opts = append([]plexwriteback.Option{
		plexwriteback.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		plexwriteback.WithLogger(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		plexwriteback.WithTracerProvider(e.tp),
	}, opts...)
	w := plexwriteback.New(e.js, pw, opts...)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
}

func saleDoc(code, typ, tax string, lines ...events.DocumentLine) *events.Document {
	return &events.Document{Code: code, Type: typ, Status: "Committed", TotalTax: dec(tax), Lines: lines}
}

func line(id, tax string) events.DocumentLine {
	return events.DocumentLine{Kind: events.LineItemGroupLine, ID: id, Amount: dec("100"), Taxable: dec("100"), Tax: dec(tax)}
}

// publish sends a tax result as the worker does.
func (e *env) publish(id string, data events.ResultData) {
	e.t.Helper()
	if data.Action == "" {
		data.Action = events.RefreshOrderTaxes
	}
	if data.State == "" {
		data.State = "committed"
	}
	if data.Documents == nil {
		data.Documents = []events.Document{}
		if data.Document != nil {
			d := *data.Document
			d.Lines = []events.DocumentLine{}
			data.Documents = append(data.Documents, d)
		}
	}
	data.CauseEventID = id
	ev, err := events.New(id, "test", events.TaxResult, data.OrderID, time.Now(), data)
	if err != nil {
		e.t.Fatal(err)
	}
	ack, err := bus.Publish(e.ctx, e.js, bus.ResultSubject(data.OrderID), ev, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.lastSeq.Store(ack.Sequence)
}

// idle waits until the writer settled every result published so far.
func (e *env) idle() {
	e.t.Helper()
	testwait.Eventually(e.t, "the write-back consumer to settle every result", func() bool {
		c, err := e.js.Consumer(e.ctx, bus.ResultsStream, plexwriteback.ConsumerName)
		if err != nil {
			return false
		}
		info, err := c.Info(e.ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= e.lastSeq.Load()
	})
}

func (e *env) adjustments(orderID string) []plex.PriceAdjustment {
	return e.sb.PriceAdjustments(orderID)
}

func (e *env) lineTaxes() map[string]string {
	e.t.Helper()
	po, err := e.client(testKey).GetPurchaseOrder(e.ctx, "PO-1")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range po.Lines {
		if l.TaxAmount != nil {
			out[l.ID] = l.TaxAmount.String()
		}
	}
	return out
}

func (e *env) writes(changed, unchanged int) {
	e.t.Helper()
	if st := e.sb.Stats(); st.WritesChanged != changed || st.WritesUnchanged != unchanged {
		e.t.Fatalf("sandbox writes: %d changed, %d unchanged; want %d and %d", st.WritesChanged, st.WritesUnchanged, changed, unchanged)
	}
}

func soResult(version int64, tax string) events.ResultData {
	return events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: version, Document: saleDoc("plex-so-SO-1", "SalesInvoice", tax)}
}

func TestSalesOrderWrittenOnce(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.publish("r-1", soResult(1, "4.44"))
	e.idle()
	adj := e.adjustments("SO-1")
	if len(adj) != 1 || adj[0].Type != "Sales Tax" || adj[0].Description != "AvaTax plex-so-SO-1" || !adj[0].Amount.Equal(dec("4.44")) {
		t.Fatalf("adjustments = %+v", adj)
	}
	e.writes(1, 0)
	// The same result again (published again, e.g. by a worker replaying
	// its outbox): the bucket knows it is written, Plex is not called.
	e.publish("r-1-again", soResult(1, "4.44"))
	e.publish("r-1-third", soResult(1, "4.440"))
	e.idle()
	e.writes(1, 0)
}

// TestReplayWritesNothing recreates the consumer, so that every result is
// delivered again: the bucket keeps them from being written twice.
func TestReplayWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.publish("r-1", soResult(1, "4.44"))
	e.publish("r-2", soResult(2, "5.00"))
	e.publish("p-1", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "67.5", line("PL-1", "66"), line("PL-2", "1.5"))})
	e.idle()
	e.writes(4, 0)
	if err := e.js.DeleteConsumer(e.ctx, bus.ResultsStream, plexwriteback.ConsumerName); err != nil {
		t.Fatal(err)
	}
	e.start(nil) // a new consumer delivers the whole stream again
	e.idle()
	e.writes(4, 0)
	if adj := e.adjustments("SO-1"); len(adj) != 1 || !adj[0].Amount.Equal(dec("5")) {
		t.Fatalf("adjustments = %+v", adj)
	}
}

func TestNewerTaxUpdatesTheAdjustment(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.publish("r-1", soResult(1, "4.44"))
	e.idle()
	e.publish("r-2", soResult(2, "5.00"))
	e.idle()
	adj := e.adjustments("SO-1")
	if len(adj) != 1 || !adj[0].Amount.Equal(dec("5")) {
		t.Fatalf("adjustments = %+v: one adjustment with the new tax", adj)
	}
	e.writes(2, 0)
}

func TestOlderResultSkipped(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.publish("r-2", soResult(2, "5.00"))
	e.idle()
	e.publish("r-1", soResult(1, "4.44")) // delivered late
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 || !adj[0].Amount.Equal(dec("5")) {
		t.Fatalf("adjustments = %+v: the older tax was written", adj)
	}
	e.writes(1, 0)
	// A result of the same version published later is newer (a void
	// after a refresh of one order version).
	e.publish("r-2-void", events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: 2, Action: events.VoidOrderTaxes, State: "void"})
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 || !adj[0].Amount.IsZero() {
		t.Fatalf("adjustments = %+v", adj)
	}
}

func TestPurchaseOrderLines(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	shipping := events.DocumentLine{Kind: events.ShippingFeeLine, ID: "FREIGHT", Tax: dec("3")}
	e.publish("p-1", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "70.5", line("PL-1", "66"), line("PL-2", "1.5"), shipping)})
	e.idle()
	if got := e.lineTaxes(); got["PL-1"] != "66" || got["PL-2"] != "1.5" || len(got) != 2 {
		t.Fatalf("line taxes = %v", got)
	}
	e.writes(2, 0)
	e.publish("p-1-again", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "70.5", line("PL-2", "1.50"), line("PL-1", "66.00"))})
	e.idle()
	e.writes(2, 0)
	// PL-2 is no longer taxed: its tax in Plex goes to zero.
	e.publish("p-2", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 2,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "70", line("PL-1", "70"))})
	e.idle()
	if got := e.lineTaxes(); got["PL-1"] != "70" || got["PL-2"] != "0" {
		t.Fatalf("line taxes = %v", got)
	}
	e.writes(4, 0)
}

func TestVoidWritesZero(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.publish("r-1", soResult(1, "4.44"))
	e.publish("p-1", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "67.5", line("PL-1", "66"), line("PL-2", "1.5"))})
	e.idle()
	// The sales order's void result carries no document; the purchase
	// order's carries the voided one with its old tax.
	e.publish("r-void", events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: 2, Action: events.VoidOrderTaxes, State: "void",
		Documents: []events.Document{{Code: "plex-so-SO-1", Type: "SalesInvoice", Status: "Cancelled", TotalTax: dec("4.44")}}})
	e.publish("p-void", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 2, Action: events.VoidOrderTaxes, State: "void",
		Document: &events.Document{Code: "plex-po-PO-1", Type: "PurchaseInvoice", Status: "Cancelled", TotalTax: dec("67.5"),
			Lines: []events.DocumentLine{line("PL-1", "66"), line("PL-2", "1.5")}}})
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 || !adj[0].Amount.IsZero() {
		t.Fatalf("adjustments = %+v", adj)
	}
	if got := e.lineTaxes(); got["PL-1"] != "0" || got["PL-2"] != "0" {
		t.Fatalf("line taxes = %v", got)
	}
	e.writes(6, 0)
	// A void of an order never written knows its adjustment from the
	// documents of the result.
	e.sb.PutSalesOrder(plex.SalesOrder{ID: "SO-2"})
	e.publish("r2-void", events.ResultData{OrderID: "plex-so-SO-2", OrderVersion: 1, State: "void",
		Documents: []events.Document{{Code: "DOC-SO-2", Type: "SalesInvoice"}}})
	e.idle()
	if adj := e.adjustments("SO-2"); len(adj) != 1 || adj[0].Description != "AvaTax DOC-SO-2" || !adj[0].Amount.IsZero() {
		t.Fatalf("adjustments = %+v", adj)
	}
}

func TestNothingToWrite(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	// An OMS order's result, a result that changed no document, a refund
	// document: nothing for the Plex write-back.
	e.publish("oms-1", events.ResultData{OrderID: "WEB-1", OrderVersion: 1, Document: saleDoc("WEB-1", "SalesInvoice", "9")})
	e.publish("r-none", events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: 1, Note: "nothing to do"})
	e.publish("r-ret", events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: 1, Action: events.RefundOrderTaxes,
		Document: saleDoc("RET-1", "ReturnInvoice", "-1")})
	e.idle()
	if st := e.sb.Stats(); st.Requests != 0 {
		t.Fatalf("Plex was called: %+v", st)
	}
}

func TestDeletedOrderNotRetried(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.sb.DeleteSalesOrder("SO-1")
	e.sb.DeletePurchaseOrder("PO-1")
	e.publish("r-1", soResult(1, "4.44"))
	e.publish("p-1", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "66", line("PL-1", "66"))})
	e.idle()
	if st := e.sb.Stats(); st.Requests != 2 {
		t.Fatalf("requests = %d: a 404 is final", st.Requests)
	}
	if !strings.Contains(e.logs.String(), "not in Plex") {
		t.Fatalf("no warning: %s", e.logs.String())
	}
}

// TestPlexOutage: Plex answers 500/503 to everything for a while; the
// results are redelivered with backoff until Plex takes them.
func TestPlexOutage(t *testing.T) {
	e := newEnv(t)
	e.sb.SetFaults(plexsim.Faults{ErrorRate: 1, Seed: 1})
	e.start(nil)
	e.publish("r-1", soResult(1, "4.44"))
	e.publish("p-1", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "67.5", line("PL-1", "66"), line("PL-2", "1.5"))})
	testwait.Eventually(t, "Plex to refuse several deliveries", func() bool {
		st := e.sb.Stats()
		return st.Injected["500"]+st.Injected["503"] >= 8
	})
	e.sb.SetFaults(plexsim.Faults{})
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 || !adj[0].Amount.Equal(dec("4.44")) {
		t.Fatalf("adjustments = %+v", adj)
	}
	if got := e.lineTaxes(); got["PL-1"] != "66" || got["PL-2"] != "1.5" {
		t.Fatalf("line taxes = %v", got)
	}
	e.writes(3, 0)
	if !strings.Contains(e.logs.String(), "will retry") {
		t.Fatal("the failures were not logged")
	}
}

// swappable lets a test replace the Plex client, as an operator fixing
// the credentials would.
type swappable struct {
	mu sync.Mutex
	c  plexwriteback.PlexWriter
}

func (s *swappable) get() plexwriteback.PlexWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

func (s *swappable) set(c plexwriteback.PlexWriter) {
	s.mu.Lock()
	s.c = c
	s.mu.Unlock()
}

func (s *swappable) PutPriceAdjustment(ctx context.Context, id string, in plex.PriceAdjustmentInput) (*plex.PriceAdjustment, error) {
	return s.get().PutPriceAdjustment(ctx, id, in)
}

func (s *swappable) PutPurchaseOrderLineTax(ctx context.Context, po, l string, tax decimal.Decimal) (*plex.PurchaseOrderLine, error) {
	return s.get().PutPurchaseOrderLineTax(ctx, po, l, tax)
}

// TestRefusedUntilFixed: Plex refuses the credentials (401), which no
// retry fixes: the result waits the longest backoff between tries, stays
// pending, and is written once the credentials are fixed.
func TestRefusedUntilFixed(t *testing.T) {
	e := newEnv(t)
	const wrongKey = "pk-wrong-0a1b2c3d4e5f"
	sw := &swappable{c: e.client(wrongKey)}
	e.start(sw, plexwriteback.WithBackoff(time.Millisecond, 300*time.Millisecond))
	start := time.Now()
	e.publish("r-1", soResult(1, "4.44"))
	testwait.Eventually(t, "two refused deliveries", func() bool { return e.sb.Stats().Requests >= 2 })
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("a refused write came back after %v: not the longest backoff", el)
	}
	c, _ := e.js.Consumer(e.ctx, bus.ResultsStream, plexwriteback.ConsumerName)
	if info, err := c.Info(e.ctx); err != nil || info.NumAckPending != 1 {
		t.Fatalf("info = %+v, %v: the refused result stays pending", info, err)
	}
	sw.set(e.client(testKey))
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 {
		t.Fatalf("adjustments = %+v", adj)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "refused by Plex") || strings.Contains(logs, wrongKey) || strings.Contains(logs, testKey) {
		t.Fatalf("logs = %s", logs)
	}
}

// TestReplicasConverge runs two writers, two results at a time each, over
// many results of one order: Plex ends with the newest tax, once.
func TestReplicasConverge(t *testing.T) {
	e := newEnv(t)
	e.start(nil, plexwriteback.WithConcurrency(2))
	e.start(nil, plexwriteback.WithConcurrency(2))
	const n = 30
	for v := int64(1); v <= n; v++ {
		e.publish(fmt.Sprintf("r-%d", v), soResult(v, fmt.Sprint(v)))
		e.publish(fmt.Sprintf("p-%d", v), events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: v,
			Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", fmt.Sprint(2*v), line("PL-1", fmt.Sprint(v)), line("PL-2", fmt.Sprint(v)))})
	}
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 || !adj[0].Amount.Equal(decimal.NewFromInt(n)) {
		t.Fatalf("adjustments = %+v", adj)
	}
	if got := e.lineTaxes(); got["PL-1"] != fmt.Sprint(n) || got["PL-2"] != fmt.Sprint(n) {
		t.Fatalf("line taxes = %v", got)
	}
	kv, err := e.js.KeyValue(e.ctx, plexwriteback.BucketName)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(e.ctx, bus.Token("plex-so-SO-1"))
	if err != nil || !strings.Contains(string(entry.Value()), fmt.Sprintf(`"order_version":%d`, n)) {
		t.Fatalf("record = %s, %v", entry.Value(), err)
	}
}

func TestSpans(t *testing.T) {
	e := newEnv(t)
	e.start(nil, plexwriteback.WithAdjustmentType("Tax"))
	e.publish("r-1", soResult(1, "4.44"))
	e.publish("p-1", events.ResultData{OrderID: "plex-po-PO-1", OrderVersion: 1,
		Document: saleDoc("plex-po-PO-1", "PurchaseInvoice", "66", line("PL-1", "66"))})
	e.idle()
	if adj := e.adjustments("SO-1"); len(adj) != 1 || adj[0].Type != "Tax" {
		t.Fatalf("adjustments = %+v", adj)
	}
	names := map[string]string{}
	var dump strings.Builder
	for _, s := range e.spans.GetSpans() {
		fmt.Fprintf(&dump, "%+v", s)
		for _, a := range s.Attributes {
			if a.Key == "plex.writeback.outcome" {
				names[s.Name] = a.Value.AsString()
			}
		}
	}
	if names["plex writeback sales_order"] != plexwriteback.OutcomeWritten || names["plex writeback purchase_order"] != plexwriteback.OutcomeWritten {
		t.Fatalf("spans = %v", names)
	}
	if strings.Contains(dump.String(), testKey) || strings.Contains(e.logs.String(), testKey) {
		t.Fatal("the API key leaked into spans or logs")
	}
}

// TestDocumentCodeChange: a new document code is a new adjustment in Plex;
// the old one is zeroed so Plex does not count the tax twice.
func TestDocumentCodeChange(t *testing.T) {
	e := newEnv(t)
	e.start(nil)
	e.publish("r-1", events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: 1, Document: saleDoc("D1", "SalesInvoice", "4.44")})
	e.publish("r-2", events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: 2, Document: saleDoc("D2", "SalesInvoice", "5")})
	e.idle()
	got := map[string]string{}
	for _, a := range e.adjustments("SO-1") {
		got[a.Description] = a.Amount.String()
	}
	if len(got) != 2 || got["AvaTax D1"] != "0" || got["AvaTax D2"] != "5" {
		t.Fatalf("adjustments = %v", got)
	}
}
