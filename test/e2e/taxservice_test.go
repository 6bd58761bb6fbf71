package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/shopspring/decimal"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/demo"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxservice"
)

// taxService is the tax service on a real nats-server, over the AvaTax
// emulator on HTTP, with the audit transport and an in-memory span
// exporter.
type taxService struct {
	emb     *bus.Embedded
	svc     *taxservice.Service
	micro   micro.Service
	nc      *nats.Conn
	js      jetstream.JetStream
	sandbox *avataxsim.Sandbox
	http    *httptest.Server
	spans   *tracetest.InMemoryExporter
}

// taxConfig: company 7 invoices, 8 sends billing as quotes, 9 estimates
// quotes from standard rates when AvaTax is down.
func taxConfig() taxservice.Config {
	return taxservice.Config{
		Companies: map[int]taxservice.CompanyConfig{
			7: {AvaTaxCompany: avataxsim.DefaultCompany},
			8: {AvaTaxCompany: avataxsim.DefaultCompany, SendQuoteNotInvoice: true},
			9: {AvaTaxCompany: avataxsim.DefaultCompany, FallbackToStandardRates: true,
				StandardRates: map[string]decimal.Decimal{"US-NY": decimal.RequireFromString("0.08875")}},
		},
		CrossReference: []taxservice.CrossReference{
			{ItemClass: "BOK", TaxCode: "NT"}, // books exempt: a non-taxable code
			{ItemClass: "APP", Division: "10", Department: "200", Class: "3", TaxCode: "PC040100"},
		},
		DefaultTaxCode: "P0000000",
	}
}

// startTaxService assembles the service; avataxURL "" means the emulator.
func startTaxService(t *testing.T, avataxURL string) *taxService {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
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
	ts := &taxService{emb: emb, nc: nc, js: js, spans: tracetest.NewInMemoryExporter()}
	if avataxURL == "" {
		ts.sandbox = avataxsim.New()
		srv := httptest.NewServer(ts.sandbox)
		t.Cleanup(srv.Close)
		avataxURL = srv.URL
	}
	creds := avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey}
	tr := audit.NewTransport(http.DefaultTransport, audit.WithPublisher(js), audit.WithCredentials(creds.AccountID, creds.LicenseKey))
	client := avatax.New(avataxURL, creds, avatax.WithHTTPClient(&http.Client{Transport: tr}), avatax.WithDetails(),
		avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxElapsed: 2 * time.Second}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(ts.spans))
	svc, err := taxservice.New(taxConfig(), client, taxservice.WithTracerProvider(tp), taxservice.WithAudit(js))
	if err != nil {
		t.Fatal(err)
	}
	ts.svc = svc
	if ts.micro, err = svc.Serve(ctx, nc); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+taxservice.HTTPPath, svc.Handler())
	ts.http = httptest.NewServer(mux)
	t.Cleanup(ts.http.Close)
	return ts
}

// taxRequest is an INVOICE of company 7 from Irvine to New York; edit
// changes it.
func taxRequest(edit func(m map[string]any)) map[string]any {
	m := map[string]any{
		"request_type": "INVOICE", "company": 7, "order_number": 1234, "ship_to_number": 1,
		"stage": "billing", "invoice_number": 555, "date": "2026-11-02", "currency": "USD",
		"ship_from": map[string]any{"line1": "2000 Main St", "city": "Irvine", "region": "CA", "postal_code": "92614", "country": "US"},
		"ship_to":   map[string]any{"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10118", "country": "US"},
		"customer":  map[string]any{"number": 42},
		"lines": []any{
			map[string]any{"line_number": 1, "item": "JACKET", "item_class": "OUT", "quantity": 1, "extended_price": "100.00"},
			map[string]any{"line_number": 2, "item": "MUG", "item_class": "ACC", "quantity": 2, "extended_price": 20},
		},
		"freight": "10.00",
	}
	if edit != nil {
		edit(m)
	}
	return m
}

func reqLine(m map[string]any, i int) map[string]any { return m["lines"].([]any)[i].(map[string]any) }

// ask sends a request over NATS and decodes the answer; a micro error
// fails the test.
func (ts *taxService) ask(t *testing.T, req map[string]any) *taxservice.Response {
	t.Helper()
	msg := ts.request(t, req)
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		t.Fatalf("error %s: %s (%s)", code, msg.Header.Get(micro.ErrorHeader), msg.Data)
	}
	var resp taxservice.Response
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		t.Fatalf("%v: %s", err, msg.Data)
	}
	return &resp
}

func (ts *taxService) request(t *testing.T, req map[string]any) *nats.Msg {
	t.Helper()
	raw, _ := json.Marshal(req)
	msg, err := ts.nc.Request(taxservice.Subject, raw, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// refused sends a request that must be refused, and returns the error.
func (ts *taxService) refused(t *testing.T, req map[string]any, wantStatus string) taxservice.ErrorBody {
	t.Helper()
	msg := ts.request(t, req)
	if got := msg.Header.Get(micro.ErrorCodeHeader); got != wantStatus {
		t.Fatalf("micro error code %q, want %q: %s", got, wantStatus, msg.Data)
	}
	var e taxservice.ErrorBody
	if err := json.Unmarshal(msg.Data, &e); err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get(taxservice.FieldHeader) != e.Field {
		t.Errorf("field header %q, body %q", msg.Header.Get(taxservice.FieldHeader), e.Field)
	}
	return e
}

func charge(t *testing.T, cs []taxservice.ChargeTax, typ string) taxservice.ChargeTax {
	t.Helper()
	for _, c := range cs {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s charge in %+v", typ, cs)
	return taxservice.ChargeTax{}
}

func TestTaxServiceQuote(t *testing.T) {
	ts := startTaxService(t, "")
	resp := ts.ask(t, taxRequest(func(m map[string]any) {
		m["request_type"], m["stage"] = "QUOTE", "order_entry"
		delete(m, "invoice_number")
	}))
	if resp.DocumentType != avatax.SalesOrder || resp.Estimated || resp.Committed {
		t.Fatalf("quote answered with %s estimated=%v committed=%v", resp.DocumentType, resp.Estimated, resp.Committed)
	}
	// New York: state 4%, city 4.5%, MCTD 0.375% of 100.00.
	want := map[string]string{"state": "4.00", "city": "4.50", "special": "0.38"}
	for _, j := range resp.Lines[0].Jurisdictions {
		if w, ok := want[j.Type]; ok && j.Tax.String() != w {
			t.Errorf("%s %s: %s, want %s", j.Type, j.Name, j.Tax, w)
		}
	}
	if resp.Lines[0].Tax.String() != "8.88" || resp.TotalAmount.String() != "130.00" {
		t.Errorf("line 1 tax %s, total amount %s", resp.Lines[0].Tax, resp.TotalAmount)
	}
	if docs := ts.sandbox.Documents(avataxsim.DefaultCompany); len(docs) != 0 {
		t.Errorf("a quote recorded %d documents", len(docs))
	}
	ts.checkAudited(t, "OA-7-1234")
	ts.checkSpan(t)
}

func TestTaxServiceInvoiceOnce(t *testing.T) {
	ts := startTaxService(t, "")
	first := ts.ask(t, taxRequest(nil))
	again := ts.ask(t, taxRequest(nil))
	if first.DocumentType != avatax.SalesInvoice || !first.Committed || first.DocumentCode != "OA-7-1234-I555" {
		t.Fatalf("invoice: %s %s committed=%v", first.DocumentType, first.DocumentCode, first.Committed)
	}
	if again.DocumentCode != first.DocumentCode || again.TotalTax.String() != first.TotalTax.String() {
		t.Errorf("repeated invoice: %s %s, first %s %s", again.DocumentCode, again.TotalTax, first.DocumentCode, first.TotalTax)
	}
	docs := ts.sandbox.Documents(avataxsim.DefaultCompany)
	if len(docs) != 1 || docs[0].Status != avatax.StatusCommitted || docs[0].TotalTax.StringFixed(2) != first.TotalTax.String() {
		t.Fatalf("documents after a repeated invoice: %+v", docs)
	}
	// Another invoice of the order is another document.
	ts.ask(t, taxRequest(func(m map[string]any) { m["invoice_number"] = 556 }))
	if docs := ts.sandbox.Documents(avataxsim.DefaultCompany); len(docs) != 2 {
		t.Errorf("%d documents after a second invoice, want 2", len(docs))
	}
}

func TestTaxServiceCredit(t *testing.T) {
	ts := startTaxService(t, "")
	invoice := ts.ask(t, taxRequest(nil))
	credit := ts.ask(t, taxRequest(func(m map[string]any) { m["request_type"], m["credit_number"] = "CREDIT", 3 }))
	if credit.DocumentType != avatax.ReturnInvoice || credit.DocumentCode != "OA-7-1234-C3" || !credit.Committed {
		t.Fatalf("credit: %s %s committed=%v", credit.DocumentType, credit.DocumentCode, credit.Committed)
	}
	if !credit.TotalTax.Decimal().Equal(invoice.TotalTax.Decimal().Neg()) || credit.TotalAmount.String() != "-130.00" {
		t.Errorf("credit tax %s amount %s, invoice tax %s", credit.TotalTax, credit.TotalAmount, invoice.TotalTax)
	}
	if _, ok := ts.sandbox.Document(avataxsim.DefaultCompany, "OA-7-1234-C3", avatax.ReturnInvoice); !ok {
		t.Error("the ReturnInvoice is not recorded")
	}
}

func TestTaxServiceDistributeTax(t *testing.T) {
	ts := startTaxService(t, "")
	resp := ts.ask(t, taxRequest(func(m map[string]any) {
		m["request_type"] = "DISTRIBUTETAX"
		l := reqLine(m, 1)
		l["tax_override"], l["tax_amount"], l["freight"] = true, "0.50", 4
		m["freight_tax_override"], m["freight_tax_amount"] = true, "0.25"
		m["handling"] = 2
	}))
	l2 := resp.Lines[1]
	if !l2.Overridden || l2.Tax.String() != "0.50" {
		t.Errorf("overridden line: %+v", l2)
	}
	// The overridden line's own freight is still taxed: 4.00 at 8.875%.
	if c := charge(t, l2.Charges, taxservice.ChargeFreight); c.Overridden || c.Tax.String() != "0.36" {
		t.Errorf("freight of the overridden line: %+v", c)
	}
	if c := charge(t, resp.Charges, taxservice.ChargeFreight); !c.Overridden || c.Tax.String() != "0.25" {
		t.Errorf("order freight: %+v", c)
	}
	if c := charge(t, resp.Charges, taxservice.ChargeHandling); c.Overridden || c.Tax.String() != "0.18" {
		t.Errorf("handling: %+v", c)
	}
	doc, ok := ts.sandbox.Document(avataxsim.DefaultCompany, "OA-7-1234-I555", avatax.SalesInvoice)
	if !ok || doc.Status != avatax.StatusCommitted || doc.TotalTax.StringFixed(2) != resp.TotalTax.String() {
		t.Fatalf("document %+v, answered tax %s", doc, resp.TotalTax)
	}
}

func TestTaxServiceQuoteNotInvoice(t *testing.T) {
	ts := startTaxService(t, "")
	for _, typ := range []string{"INVOICE", "DISTRIBUTETAX"} {
		resp := ts.ask(t, taxRequest(func(m map[string]any) { m["company"], m["request_type"] = 8, typ }))
		if resp.DocumentType != avatax.SalesOrder || resp.SentAs != taxservice.Quote || resp.RequestType != typ {
			t.Errorf("%s of a company sending quotes: %s sent as %q", typ, resp.DocumentType, resp.SentAs)
		}
	}
	// An orchestration fulfilment records no invoice either.
	resp := ts.ask(t, taxRequest(func(m map[string]any) { m["orchestration_fulfillment"] = true }))
	if resp.DocumentType != avatax.SalesOrder || resp.SentAs != taxservice.Quote {
		t.Errorf("orchestration fulfilment: %s sent as %q", resp.DocumentType, resp.SentAs)
	}
	if docs := ts.sandbox.Documents(avataxsim.DefaultCompany); len(docs) != 0 {
		t.Errorf("%d documents recorded, want none", len(docs))
	}
}

func TestTaxServiceExemption(t *testing.T) {
	ts := startTaxService(t, "")
	e := ts.refused(t, taxRequest(func(m map[string]any) {
		m["customer"] = map[string]any{"number": 42, "exemption_tax_id": "EX-1", "exemption_expiry_date": "2026-10-31"}
	}), "422")
	if e.Code != taxservice.CodeExemptionExpired || e.Field != "/customer/exemption_expiry_date" || !strings.Contains(e.Message, "expired") {
		t.Errorf("expired exemption: %+v", e)
	}
	resp := ts.ask(t, taxRequest(func(m map[string]any) {
		m["customer"] = map[string]any{"number": 42, "exemption_tax_id": "EX-1", "exemption_expiry_date": "2027-12-31"}
	}))
	if resp.TotalTax.String() != "0.00" {
		t.Errorf("exempt customer: tax %s", resp.TotalTax)
	}
	doc, _ := ts.sandbox.Document(avataxsim.DefaultCompany, "OA-7-1234-I555", avatax.SalesInvoice)
	if doc.ExemptNo != "EX-1" {
		t.Errorf("exemption number on the document: %q", doc.ExemptNo)
	}
}

func TestTaxServiceCrossReference(t *testing.T) {
	ts := startTaxService(t, "")
	resp := ts.ask(t, taxRequest(func(m map[string]any) {
		m["request_type"] = "QUOTE"
		reqLine(m, 0)["item_class"] = "BOK"
		m["lines"] = append(m["lines"].([]any),
			map[string]any{"line_number": 3, "item": "SHIRT", "item_class": "APP", "division": "10", "department": "200", "class": "3", "quantity": 1, "extended_price": 10},
			map[string]any{"line_number": 4, "item": "CUSTOM", "item_class": "BOK", "tax_code": "P0000000", "quantity": 1, "extended_price": 10})
	}))
	// New York exempts clothing under 110 a unit, so the shirt's code
	// shows in its tax.
	want := []struct{ code, tax string }{{"NT", "0.00"}, {"P0000000", "1.78"}, {"PC040100", "0.00"}, {"P0000000", "0.89"}}
	for i, w := range want {
		if l := resp.Lines[i]; l.TaxCode != w.code || l.Tax.String() != w.tax {
			t.Errorf("line %d: code %s tax %s, want %s %s", l.LineNumber, l.TaxCode, l.Tax, w.code, w.tax)
		}
	}
	// The NT book's freight charge is still taxed.
	if c := charge(t, resp.Charges, taxservice.ChargeFreight); c.Tax.String() != "0.89" {
		t.Errorf("freight: %+v", c)
	}
}

func TestTaxServiceEveryCharge(t *testing.T) {
	ts := startTaxService(t, "")
	resp := ts.ask(t, taxRequest(func(m map[string]any) {
		m["request_type"] = "QUOTE"
		l := reqLine(m, 0)
		l["freight"], l["handling"], l["gift_wrap"] = 1, 2, 3
		m["handling"], m["duty"], m["gift_wrap"], m["additional_freight"], m["shipper_item_charges"] = 4, 5, 6, 7, 8
	}))
	for typ, amount := range map[string]string{taxservice.ChargeFreight: "1.00", taxservice.ChargeHandling: "2.00", taxservice.ChargeGiftWrap: "3.00"} {
		if c := charge(t, resp.Lines[0].Charges, typ); c.Amount.String() != amount || c.Tax.Decimal().IsZero() {
			t.Errorf("line charge %s: %+v", typ, c)
		}
	}
	for typ, amount := range map[string]string{
		taxservice.ChargeFreight: "10.00", taxservice.ChargeHandling: "4.00", taxservice.ChargeDuty: "5.00", taxservice.ChargeGiftWrap: "6.00",
		taxservice.ChargeAdditionalFreight: "7.00", taxservice.ChargeShipperItemCharges: "8.00",
	} {
		if c := charge(t, resp.Charges, typ); c.Amount.String() != amount || c.Tax.Decimal().IsZero() || len(c.Jurisdictions) == 0 {
			t.Errorf("order charge %s: %+v", typ, c)
		}
	}
	if resp.TotalAmount.String() != "166.00" {
		t.Errorf("total amount %s", resp.TotalAmount)
	}
}

func TestTaxServiceCanadianOrder(t *testing.T) {
	ts := startTaxService(t, "")
	resp := ts.ask(t, taxRequest(func(m map[string]any) {
		m["currency"] = "CAD"
		m["ship_from"] = map[string]any{"line1": "1 Yonge St", "city": "Toronto", "region": "ON", "postal_code": "M5E 1W7", "country": "CA"}
		m["ship_to"] = map[string]any{"line1": "1 Rue Sainte-Catherine", "city": "Montreal", "region": "QC", "postal_code": "H2X 1K4", "country": "CA"}
	}))
	got := map[string]bool{}
	for _, j := range resp.Lines[0].Jurisdictions {
		got[j.Type] = !j.Tax.Decimal().IsZero()
	}
	if !got[taxservice.JurisCountry] || !got[taxservice.JurisState] {
		t.Errorf("Quebec: want GST (country) and QST (province) on line 1, got %+v", resp.Lines[0].Jurisdictions)
	}
}

func TestTaxServiceBadRequest(t *testing.T) {
	ts := startTaxService(t, "")
	e := ts.refused(t, taxRequest(func(m map[string]any) { reqLine(m, 1)["extended_price"] = "-3" }), "400")
	if e.Code != taxservice.CodeInvalidRequest || e.Field != "/lines/1/extended_price" {
		t.Errorf("bad price: %+v", e)
	}
	if e := ts.refused(t, map[string]any{"request_type": "QUOTE"}, "400"); e.Field != "/company" {
		t.Errorf("missing members: %+v", e)
	}

	res, err := http.Post(ts.http.URL+taxservice.HTTPPath, "application/json", strings.NewReader(`{"request_type": "REFUND"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body taxservice.ErrorBody
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusBadRequest || body.Field == "" || body.Code != taxservice.CodeInvalidRequest {
		t.Errorf("HTTP: %d %+v", res.StatusCode, body)
	}
}

func TestTaxServiceHTTP(t *testing.T) {
	ts := startTaxService(t, "")
	raw, _ := json.Marshal(taxRequest(nil))
	res, err := http.Post(ts.http.URL+taxservice.HTTPPath, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var resp taxservice.Response
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", res.StatusCode, err)
	}
	if resp.DocumentCode != "OA-7-1234-I555" || resp.TotalTax.String() == "" {
		t.Errorf("HTTP answer %+v", resp)
	}
}

func TestTaxServiceAvaTaxUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	ts := startTaxService(t, down.URL)

	// A quote of a company that allows it is estimated.
	resp := ts.ask(t, taxRequest(func(m map[string]any) { m["company"], m["request_type"] = 9, "QUOTE" }))
	if !resp.Estimated || resp.Lines[0].Tax.String() != "8.88" {
		t.Errorf("estimated quote: %+v", resp)
	}
	// An invoice never is: it fails retryable, over NATS and HTTP.
	e := ts.refused(t, taxRequest(func(m map[string]any) { m["company"] = 9 }), "503")
	if e.Code != taxservice.CodeAvaTaxUnavailable || !e.Retryable {
		t.Errorf("invoice: %+v", e)
	}
	raw, _ := json.Marshal(taxRequest(func(m map[string]any) { m["request_type"], m["credit_number"] = "CREDIT", 1 }))
	res, err := http.Post(ts.http.URL+taxservice.HTTPPath, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("credit over HTTP: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

func TestTaxServiceDiscovery(t *testing.T) {
	ts := startTaxService(t, "")
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb} {
		subj, err := micro.ControlSubject(verb, taxservice.ServiceName, "")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := ts.nc.Request(subj, nil, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subj, err)
		}
		var info micro.Info
		if err := json.Unmarshal(msg.Data, &info); err != nil {
			t.Fatal(err)
		}
		if info.Name != taxservice.ServiceName || info.Version != taxservice.ServiceVersion {
			t.Errorf("%s: %+v", subj, info)
		}
		if verb == micro.InfoVerb && (len(info.Endpoints) != 1 || info.Endpoints[0].Subject != taxservice.Subject ||
			info.Endpoints[0].QueueGroup != taxservice.QueueGroup) {
			t.Errorf("endpoints %+v", info.Endpoints)
		}
	}
}

// checkAudited: the order's tax request, its answer and the AvaTax
// exchange are in the audit trail, under one trace.
func (ts *taxService) checkAudited(t *testing.T, orderID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	entries, err := audit.Read(ctx, ts.js, orderID)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]audit.Entry{}
	for _, e := range entries {
		ops[e.Operation] = e
	}
	ava, req := ops["createoradjust"], ops[taxservice.OperationTaxRequest]
	if ava.Response == nil || ava.Response.Status/100 != 2 {
		t.Errorf("AvaTax exchange in the audit trail: %+v", ava)
	}
	if req.Response == nil || req.Response.Status != http.StatusOK || !bytes.Contains(req.Request.Body, []byte(`"QUOTE"`)) ||
		!bytes.Contains(req.Response.Body, []byte(`"total_tax"`)) {
		t.Errorf("tax request in the audit trail: %+v", req)
	}
	if req.TraceID == "" || req.TraceID != ava.TraceID {
		t.Errorf("trace of the tax request %q, of its AvaTax exchange %q", req.TraceID, ava.TraceID)
	}
}

// checkSpan: each request made one span.
func (ts *taxService) checkSpan(t *testing.T) {
	t.Helper()
	n := 0
	for _, s := range ts.spans.GetSpans() {
		if s.Name == "taxservice.request" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d taxservice.request spans, want 1", n)
	}
}

// TestTaxServiceInTheApp: taxbridge itself serves the tax requests, on its
// NATS connection and its HTTP listener, for the tax configuration's
// AvaTax company.
func TestTaxServiceInTheApp(t *testing.T) {
	cfg, err := config.Load(func(c *config.Config) { demo.Configure(c, t.TempDir(), false) })
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPListen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.TaxService == nil {
		t.Fatal("the app does not serve tax requests")
	}
	subj, _ := micro.ControlSubject(micro.PingVerb, taxservice.ServiceName, "")
	if _, err := a.NC.Request(subj, nil, 5*time.Second); err != nil {
		t.Fatalf("%s: %v", subj, err)
	}
	raw, _ := json.Marshal(taxRequest(func(m map[string]any) { m["company"] = 3 })) // any company: the configuration's
	msg, err := a.NC.Request(taxservice.Subject, raw, 10*time.Second)
	if err != nil || msg.Header.Get(micro.ErrorCodeHeader) != "" {
		t.Fatalf("over NATS: %v %s", err, msg.Data)
	}
	res, err := http.Post("http://"+a.HTTPAddr+taxservice.HTTPPath, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var resp taxservice.Response
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("over HTTP: %d %v", res.StatusCode, err)
	}
	docs := a.Sandbox.Documents(a.TaxConfig.Provider.CompanyCode)
	if len(docs) != 1 || docs[0].Code != "OA-3-1234-I555" || docs[0].TotalTax.StringFixed(2) != resp.TotalTax.String() {
		t.Errorf("documents %+v, answered %s", docs, resp.TotalTax)
	}
	hz, err := http.Get("http://" + a.HTTPAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hz.Body.Close()
	if hz.StatusCode != http.StatusOK {
		t.Errorf("/healthz beside the tax requests: %d", hz.StatusCode)
	}
}

// TestTaxServiceReplicasShareTheLoad: a second replica on its own
// connection joins the queue group, and each request is answered once.
func TestTaxServiceReplicasShareTheLoad(t *testing.T) {
	ts := startTaxService(t, "")
	nc2, err := ts.emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	second, err := ts.svc.Serve(ctx, nc2)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		ts.ask(t, taxRequest(func(m map[string]any) { m["invoice_number"] = 1000 + i }))
	}
	a, b := ts.micro.Stats().Endpoints[0].NumRequests, second.Stats().Endpoints[0].NumRequests
	if a+b != n || a == 0 || b == 0 {
		t.Errorf("replicas answered %d and %d of %d requests; want all, shared", a, b, n)
	}
	if docs := ts.sandbox.Documents(avataxsim.DefaultCompany); len(docs) != n {
		t.Errorf("%d documents for %d invoices", len(docs), n)
	}
}

// TestTaxServiceReadsTheTaxConfiguration: the tax configuration's
// order_administration section reaches the service taxbridge runs: a
// company listed with send_quote_not_invoice is billed as a quote, and
// with serve_unlisted_companies false another company is refused.
func TestTaxServiceReadsTheTaxConfiguration(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(taxconfig.Example, &doc); err != nil {
		t.Fatal(err)
	}
	doc["order_administration"] = map[string]any{
		"companies":                map[string]any{"7": map[string]any{"send_quote_not_invoice": true}},
		"serve_unlisted_companies": false,
	}
	raw, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), "tax.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(c *config.Config) { demo.Configure(c, t.TempDir(), false) })
	if err != nil {
		t.Fatal(err)
	}
	cfg.TaxConfigFile = path
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ask := func(company int) *nats.Msg {
		body, _ := json.Marshal(taxRequest(func(m map[string]any) { m["company"] = company }))
		msg, err := a.NC.Request(taxservice.Subject, body, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	var resp taxservice.Response
	if msg := ask(7); msg.Header.Get(micro.ErrorCodeHeader) != "" || json.Unmarshal(msg.Data, &resp) != nil || resp.SentAs != "QUOTE" {
		t.Errorf("company 7's INVOICE: %s %s, want it sent as a QUOTE", msg.Header.Get(micro.ErrorCodeHeader), msg.Data)
	}
	if docs := a.Sandbox.Documents(a.TaxConfig.Provider.CompanyCode); len(docs) != 0 {
		t.Errorf("%d documents recorded for a quote", len(docs))
	}
	if msg := ask(3); msg.Header.Get(micro.ErrorCodeHeader) != "422" {
		t.Errorf("company 3, not listed: %s %s, want refused with 422", msg.Header.Get(micro.ErrorCodeHeader), msg.Data)
	}
}
