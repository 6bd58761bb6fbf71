package plex_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

const testKey = "pk-test-9f8e7d6c5b4a"

var orderDate = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func seed() plexsim.Seed {
	return plexsim.Seed{
		SalesOrders: []plex.SalesOrder{{
			ID: "SO-1", Number: "10001", CustomerID: "C-1", Status: "Open", Currency: "USD", OrderDate: orderDate,
			ShipToID: "A-1", Lines: []plex.SalesOrderLine{
				{ID: "L-1", LineNumber: 1, PartNumber: "BRKT-100", Quantity: dec("3"), UnitPrice: dec("12.50"), Amount: dec("37.50"), TaxCode: "P0000000"},
				{ID: "L-2", LineNumber: 2, PartNumber: "BOLT-M8", Quantity: dec("100"), UnitPrice: dec("0.1234"), Amount: dec("12.34")},
			},
		}, {ID: "SO-2", Number: "10002", CustomerID: "C-2", OrderDate: orderDate}},
		Customers: []plex.Customer{
			{ID: "C-1", Code: "ACME", Name: "Acme Corp"},
			{ID: "C-2", Code: "EXEMPT", Name: "School District", Financials: plex.CustomerFinancials{SalesTaxExempt: true, SalesTaxExemptNo: "EX-42"}},
		},
		Addresses: []plex.CustomerAddress{{ID: "A-1", CustomerID: "C-1", Line1: "1 Main St", City: "Seattle", State: "WA", PostalCode: "98101", Country: "US", ShipTo: true, BillTo: true}},
		PurchaseOrders: []plex.PurchaseOrder{{ID: "PO-1", Number: "P-7", SupplierID: "S-1", SupplierAddressID: "SA-1", ShipTo: "BLDG-2", OrderDate: orderDate,
			Lines: []plex.PurchaseOrderLine{{ID: "PL-1", LineNumber: 1, PartNumber: "STEEL", Quantity: dec("2"), UnitPrice: dec("400.00"), Amount: dec("800.00"), TaxCode: "PM010000"}}}},
		Suppliers: []plex.Supplier{{ID: "S-1", Code: "STEELCO", Name: "Steel Co"}, {ID: "S-2", Code: "BARE", Name: "No Defaults Inc"}},
		SupplierAddresses: []plex.SupplierAddress{{ID: "SA-1", SupplierID: "S-1", Line1: "9 Mill Rd", City: "Pittsburgh", State: "PA",
			PostalCode: "15222", Country: "US", ShipTo: true}},
		PurchasingDefaults: []plex.SupplierPurchasingDefaults{{SupplierID: "S-1", DefaultTaxCode: "PM010000"}},
	}
}

// fastRetry keeps retry tests quick while still exercising backoff.
var fastRetry = plex.RetryPolicy{MaxAttempts: 6, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, MaxElapsed: 10 * time.Second}

func setup(t *testing.T, sim []plexsim.Option, opts ...plex.Option) (*plex.Client, *plexsim.Sandbox, *httptest.Server) {
	t.Helper()
	sb := plexsim.New(append([]plexsim.Option{plexsim.WithAPIKey(testKey)}, sim...)...)
	if err := sb.Load(seed()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	// No client budget by default: retry tests would otherwise wait for it;
	// TestBudget sets one.
	c, err := plex.New(srv.URL, plex.Credentials{APIKey: testKey, TenantID: "T-1"}, append([]plex.Option{plex.WithRetry(fastRetry), plex.WithBudget(-1, 0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, sb, srv
}

func TestResources(t *testing.T) {
	c, _, _ := setup(t, []plexsim.Option{plexsim.WithTenant("T-1")})
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func() (any, error)
		check func(t *testing.T, v any)
	}{
		{"list sales orders", func() (any, error) { return c.ListSalesOrders(ctx, nil) }, func(t *testing.T, v any) {
			if os := v.([]plex.SalesOrder); len(os) != 2 || os[0].ID != "SO-1" {
				t.Fatalf("orders = %+v", os)
			}
		}},
		{"sales order", func() (any, error) { return c.GetSalesOrder(ctx, "SO-1") }, func(t *testing.T, v any) {
			o := v.(*plex.SalesOrder)
			if len(o.Lines) != 2 || !o.Lines[1].UnitPrice.Equal(dec("0.1234")) || !o.Lines[0].Amount.Equal(dec("37.50")) || o.Lines[0].TaxCode != "P0000000" {
				t.Fatalf("order = %+v", o)
			}
			if !o.OrderDate.Equal(orderDate) || o.OrderDate.Location() != time.UTC {
				t.Fatalf("date = %v", o.OrderDate)
			}
		}},
		{"customer", func() (any, error) { return c.GetCustomer(ctx, "C-2") }, func(t *testing.T, v any) {
			if f := v.(*plex.Customer).Financials; !f.SalesTaxExempt || f.SalesTaxExemptNo != "EX-42" {
				t.Fatalf("financials = %+v", f)
			}
		}},
		{"customer addresses", func() (any, error) { return c.ListCustomerAddresses(ctx, "C-1") }, func(t *testing.T, v any) {
			if as := v.([]plex.CustomerAddress); len(as) != 1 || as[0].PostalCode != "98101" || !as[0].ShipTo {
				t.Fatalf("addresses = %+v", as)
			}
		}},
		{"list purchase orders", func() (any, error) { return c.ListPurchaseOrders(ctx, nil) }, func(t *testing.T, v any) {
			if ps := v.([]plex.PurchaseOrder); len(ps) != 1 {
				t.Fatalf("pos = %+v", ps)
			}
		}},
		{"purchase order", func() (any, error) { return c.GetPurchaseOrder(ctx, "PO-1") }, func(t *testing.T, v any) {
			if p := v.(*plex.PurchaseOrder); len(p.Lines) != 1 || p.Lines[0].TaxCode != "PM010000" || !p.Lines[0].Amount.Equal(dec("800")) ||
				p.SupplierAddressID != "SA-1" || p.ShipTo != "BLDG-2" || p.Lines[0].TaxAmount != nil {
				t.Fatalf("po = %+v", p)
			}
		}},
		{"supplier addresses", func() (any, error) { return c.ListSupplierAddresses(ctx, "S-1") }, func(t *testing.T, v any) {
			if as := v.([]plex.SupplierAddress); len(as) != 1 || as[0].SupplierID != "S-1" || as[0].PostalCode != "15222" || !as[0].ShipTo {
				t.Fatalf("addresses = %+v", as)
			}
		}},
		{"supplier without addresses", func() (any, error) { return c.ListSupplierAddresses(ctx, "S-2") }, func(t *testing.T, v any) {
			if as := v.([]plex.SupplierAddress); len(as) != 0 {
				t.Fatalf("addresses = %+v", as)
			}
		}},
		{"purchasing defaults", func() (any, error) { return c.GetSupplierPurchasingDefaults(ctx, "S-1") }, func(t *testing.T, v any) {
			if d := v.(*plex.SupplierPurchasingDefaults); d.SupplierID != "S-1" || d.DefaultTaxCode != "PM010000" {
				t.Fatalf("defaults = %+v", d)
			}
		}},
		{"supplier", func() (any, error) { return c.GetSupplier(ctx, "S-1") }, func(t *testing.T, v any) {
			if s := v.(*plex.Supplier); s.Code != "STEELCO" {
				t.Fatalf("supplier = %+v", s)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, v)
		})
	}
}

func TestDateWireFormat(t *testing.T) {
	_, _, srv := setup(t, nil)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sales/v1/orders/SO-1", nil)
	req.Header.Set(plex.HeaderAPIKey, testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if !strings.Contains(b.String(), `"orderDate":"2026-11-02T09:00:00Z"`) {
		t.Fatalf("body = %s", b.String())
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		key    string
		tenant string
		id     string
		check  func(error) bool
		status int
	}{
		{"bad key", "wrong-key-123456", "", "SO-1", plex.IsAuth, 401},
		{"wrong tenant", testKey, "T-other", "SO-1", plex.IsAuth, 403},
		{"unknown order", testKey, "", "SO-404", plex.IsNotFound, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := plexsim.New(plexsim.WithAPIKey(testKey), plexsim.WithTenant("T-1"))
			sb.Load(seed())
			srv := httptest.NewServer(sb)
			defer srv.Close()
			var logs bytes.Buffer
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			c, err := plex.New(srv.URL, plex.Credentials{APIKey: tc.key, TenantID: tc.tenant}, plex.WithRetry(fastRetry),
				plex.WithTracerProvider(tp), plex.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetSalesOrder(ctx, tc.id)
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
			var pe *plex.Error
			if !errors.As(err, &pe) || pe.Status != tc.status || pe.Code == "" {
				t.Fatalf("typed error = %#v", pe)
			}
			if plex.IsRateLimited(err) {
				t.Fatal("not a rate limit")
			}
			creds := plex.Credentials{APIKey: tc.key, TenantID: tc.tenant}
			dump := fmt.Sprintf("%v %+v %#v %s %q", err, err, pe, creds, logs.String())
			for _, s := range exp.GetSpans() {
				dump += fmt.Sprintf("%+v", s)
			}
			if strings.Contains(dump, tc.key) {
				t.Fatalf("the key leaked: %s", dump)
			}
			if st := sb.Stats(); st.Requests != 1 {
				t.Fatalf("a %d is not retried: %d requests", tc.status, st.Requests)
			}
		})
	}
}

func TestEchoedKeyScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code":"BAD","message":"key %s refused","errors":[{"field":"key","message":"%s"}]}`, r.Header.Get(plex.HeaderAPIKey), r.Header.Get(plex.HeaderAPIKey))
	}))
	defer srv.Close()
	c, _ := plex.New(srv.URL, plex.Credentials{APIKey: testKey})
	_, err := c.GetSupplier(context.Background(), "S-1")
	if err == nil || strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name   string
		faults plexsim.Faults
		fault  string // forced on the first requests
	}{
		{"429 storm then success", plexsim.Faults{TooManyRequestsRate: 0.6, RetryAfter: -1, Seed: 7}, ""},
		{"5xx retried", plexsim.Faults{ErrorRate: 0.6, Seed: 11}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sb, _ := setup(t, []plexsim.Option{plexsim.WithFaults(tc.faults)}, plex.WithRetry(plex.RetryPolicy{MaxAttempts: 30, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
			for i := 0; i < 20; i++ {
				if _, err := c.GetSalesOrder(context.Background(), "SO-1"); err != nil {
					t.Fatal(err)
				}
			}
			st := sb.Stats()
			if injected := st.Injected["429"] + st.Injected["500"] + st.Injected["503"]; injected == 0 || st.Requests != 20+injected {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

// TestRetryAfterHonoured checks the client waits at least Retry-After.
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"code":"TOO_MANY_REQUESTS","message":"slow down"}`)
			return
		}
		fmt.Fprint(w, `{"id":"S-1","code":"X","name":"Y"}`)
	}))
	defer srv.Close()
	c, _ := plex.New(srv.URL, plex.Credentials{APIKey: testKey}, plex.WithRetry(fastRetry))
	start := time.Now()
	if _, err := c.GetSupplier(context.Background(), "S-1"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("retried after %v, before Retry-After", el)
	}
}

func TestRetryLimits(t *testing.T) {
	c, sb, _ := setup(t, []plexsim.Option{plexsim.WithFaults(plexsim.Faults{ErrorRate: 1, Seed: 3})})
	_, err := c.GetSalesOrder(context.Background(), "SO-1")
	var pe *plex.Error
	if !errors.As(err, &pe) || !pe.Temporary() {
		t.Fatalf("err = %v", err)
	}
	if st := sb.Stats(); st.Requests != fastRetry.MaxAttempts {
		t.Fatalf("requests = %d, want %d", st.Requests, fastRetry.MaxAttempts)
	}
	sb.SetFaults(plexsim.Faults{TooManyRequestsRate: 1, RetryAfter: time.Hour})
	_, err = c.GetSalesOrder(context.Background(), "SO-1")
	if !plex.IsRateLimited(err) {
		t.Fatalf("err = %v", err)
	}
	if pe, _ := err.(*plex.Error); pe == nil || pe.RetryAfter != time.Hour {
		t.Fatalf("a Retry-After past MaxElapsed ends the call at once with it: %#v", err)
	}
}

func TestBudget(t *testing.T) {
	const n, window = 100, 500 * time.Millisecond
	c, sb, _ := setup(t, []plexsim.Option{plexsim.WithBudget(n, window)},
		plex.WithBudget(n, window), plex.WithRetry(plex.RetryPolicy{MaxAttempts: 1}))
	start := time.Now()
	for i := 0; i < 250; i++ {
		if _, err := c.GetSupplier(context.Background(), "S-1"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if el := time.Since(start); el < 2*window {
		t.Fatalf("250 calls at %d per %v took %v", n, window, el)
	}
	if st := sb.Stats(); st.RateLimited != 0 {
		t.Fatalf("the sandbox refused %d calls", st.RateLimited)
	}
}

func TestSandboxBudget(t *testing.T) {
	c, sb, _ := setup(t, []plexsim.Option{plexsim.WithBudget(5, time.Hour)}, plex.WithBudget(-1, 0), plex.WithRetry(plex.RetryPolicy{MaxAttempts: 1}))
	for i := 0; i < 5; i++ {
		if _, err := c.GetSupplier(context.Background(), "S-1"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.GetSupplier(context.Background(), "S-1")
	var pe *plex.Error
	if !plex.IsRateLimited(err) || !errors.As(err, &pe) || pe.RetryAfter < 59*time.Minute {
		t.Fatalf("err = %#v", err)
	}
	if sb.Stats().RateLimited != 1 {
		t.Fatal("the sandbox did not count the 429")
	}
}

func TestWriteBackIdempotent(t *testing.T) {
	c, sb, _ := setup(t, nil)
	ctx := context.Background()
	in := plex.PriceAdjustmentInput{Type: "SalesTax", Description: "AvaTax SO-1", Amount: dec("4.44")}
	first, err := c.PutPriceAdjustment(ctx, "SO-1", in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.PutPriceAdjustment(ctx, "SO-1", in)
	if err != nil || again.ID != first.ID {
		t.Fatalf("repeat = %+v, %v", again, err)
	}
	in.Amount = dec("5.00")
	if _, err := c.PutPriceAdjustment(ctx, "SO-1", in); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListPriceAdjustments(ctx, "SO-1")
	if err != nil || len(got) != 1 || !got[0].Amount.Equal(dec("5")) || len(sb.PriceAdjustments("SO-1")) != 1 {
		t.Fatalf("adjustments = %+v, %v", got, err)
	}
	if st := sb.Stats(); st.WritesChanged != 2 || st.WritesUnchanged != 1 {
		t.Fatalf("stats = %+v: create + change, one repeat", st)
	}
	// A 5xx on a PUT is retried: the write is idempotent.
	sb.SetFaults(plexsim.Faults{ErrorRate: 0.5, Seed: 5})
	for range 10 {
		if _, err := c.PutPriceAdjustment(ctx, "SO-1", in); err != nil {
			t.Fatal(err)
		}
	}
	if len(sb.PriceAdjustments("SO-1")) != 1 {
		t.Fatal("a repeated write added an adjustment")
	}
	if _, err := c.PutPriceAdjustment(ctx, "SO-404", in); !plex.IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.PutPriceAdjustment(ctx, "SO-1", plex.PriceAdjustmentInput{Amount: dec("1")}); err == nil {
		t.Fatal("an adjustment without identity was sent")
	}
	sb.DeleteSalesOrder("SO-1")
	if _, err := c.PutPriceAdjustment(ctx, "SO-1", in); !plex.IsNotFound(err) || len(sb.PriceAdjustments("SO-1")) != 0 {
		t.Fatalf("deleted order: err = %v", err)
	}
}

func TestSupplierNotFound(t *testing.T) {
	c, _, _ := setup(t, nil)
	ctx := context.Background()
	if _, err := c.GetSupplierPurchasingDefaults(ctx, "S-2"); !plex.IsNotFound(err) {
		t.Fatalf("a supplier without defaults: err = %v", err)
	}
	if _, err := c.GetSupplierPurchasingDefaults(ctx, "S-404"); !plex.IsNotFound(err) {
		t.Fatalf("unknown supplier: err = %v", err)
	}
	if _, err := c.ListSupplierAddresses(ctx, "S-404"); !plex.IsNotFound(err) {
		t.Fatalf("unknown supplier: err = %v", err)
	}
}

func TestPurchaseOrderLineTax(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	c, sb, _ := setup(t, nil, plex.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			var b bytes.Buffer
			b.ReadFrom(r.Body)
			mu.Lock()
			bodies = append(bodies, b.String())
			mu.Unlock()
			r.Body = io.NopCloser(&b)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}))
	ctx := context.Background()
	l, err := c.PutPurchaseOrderLineTax(ctx, "PO-1", "PL-1", dec("66.00"))
	if err != nil || l.ID != "PL-1" || l.TaxAmount == nil || !l.TaxAmount.Equal(dec("66")) {
		t.Fatalf("line = %+v, %v", l, err)
	}
	if len(bodies) != 1 || bodies[0] != `{"taxAmount":"66"}` {
		t.Fatalf("bodies = %q", bodies)
	}
	if _, err := c.PutPurchaseOrderLineTax(ctx, "PO-1", "PL-1", dec("66")); err != nil {
		t.Fatal(err)
	}
	if st := sb.Stats(); st.WritesChanged != 1 || st.WritesUnchanged != 1 {
		t.Fatalf("stats = %+v: a repeat changes nothing", st)
	}
	if _, err := c.PutPurchaseOrderLineTax(ctx, "PO-1", "PL-1", dec("0")); err != nil {
		t.Fatal(err)
	}
	po, err := c.GetPurchaseOrder(ctx, "PO-1")
	if err != nil || po.Lines[0].TaxAmount == nil || !po.Lines[0].TaxAmount.IsZero() {
		t.Fatalf("po = %+v, %v: the GET shows the tax written", po, err)
	}
	// A 5xx on the PUT is retried: the write is idempotent.
	sb.SetFaults(plexsim.Faults{ErrorRate: 0.5, Seed: 5})
	for range 5 {
		if _, err := c.PutPurchaseOrderLineTax(ctx, "PO-1", "PL-1", dec("1.23")); err != nil {
			t.Fatal(err)
		}
	}
	sb.SetFaults(plexsim.Faults{})
	if st := sb.Stats(); st.WritesChanged != 3 || st.WritesUnchanged != 5 || st.Injected["500"]+st.Injected["503"] == 0 {
		t.Fatalf("stats = %+v", st)
	}
	for _, tc := range []struct{ po, line string }{{"PO-404", "PL-1"}, {"PO-1", "PL-404"}} {
		if _, err := c.PutPurchaseOrderLineTax(ctx, tc.po, tc.line, dec("1")); !plex.IsNotFound(err) {
			t.Fatalf("%s/%s: err = %v", tc.po, tc.line, err)
		}
	}
	sb.DeletePurchaseOrder("PO-1")
	if _, err := c.PutPurchaseOrderLineTax(ctx, "PO-1", "PL-1", dec("1")); !plex.IsNotFound(err) {
		t.Fatalf("deleted PO: err = %v", err)
	}
	if _, err := c.PutPurchaseOrderLineTax(ctx, "PO-1", "", dec("1")); err == nil {
		t.Fatal("a line tax without a line id was sent")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOAuth(t *testing.T) {
	const secret = "oauth-secret-5a4b3c"
	sb := plexsim.New(plexsim.WithAPIKey(testKey), plexsim.WithOAuth("client-1", secret))
	sb.Load(seed())
	srv := httptest.NewServer(sb)
	defer srv.Close()
	good, err := plex.New(srv.URL, plex.Credentials{APIKey: testKey, OAuth: &plex.OAuthConfig{TokenURL: srv.URL + "/oauth/token", ClientID: "client-1", ClientSecret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := good.GetCustomer(context.Background(), "C-1"); err != nil {
			t.Fatal(err)
		}
	}
	if sb.Tokens() != 1 {
		t.Fatalf("tokens = %d: the token is reused until it expires", sb.Tokens())
	}
	sb.RevokeTokens()
	if _, err := good.GetCustomer(context.Background(), "C-1"); err != nil || sb.Tokens() != 1 {
		t.Fatalf("a revoked token is replaced: %v, %d tokens", err, sb.Tokens())
	}
	bad, _ := plex.New(srv.URL, plex.Credentials{APIKey: testKey, OAuth: &plex.OAuthConfig{TokenURL: srv.URL + "/oauth/token", ClientID: "client-1", ClientSecret: "wrong-secret-999"}})
	_, err = bad.GetCustomer(context.Background(), "C-1")
	if !plex.IsAuth(err) || strings.Contains(err.Error(), "wrong-secret-999") {
		t.Fatalf("err = %v", err)
	}
	noToken, _ := plex.New(srv.URL, plex.Credentials{APIKey: testKey})
	if _, err := noToken.GetCustomer(context.Background(), "C-1"); !plex.IsAuth(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	creds := plex.Credentials{APIKey: testKey, TenantID: "T-1", OAuth: &plex.OAuthConfig{ClientID: "id", ClientSecret: "s3cr3t-value"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "creds", creds)
	out := fmt.Sprintf("%v %+v %#v %s %v", creds, creds, creds, creds, creds.OAuth) + logs.String()
	if strings.Contains(out, testKey) || strings.Contains(out, "s3cr3t-value") {
		t.Fatal(out)
	}
	if _, err := plex.New("://bad", creds); err == nil {
		t.Fatal("a bad URL was accepted")
	}
	if _, err := plex.New("http://x", plex.Credentials{}); err == nil {
		t.Fatal("no key was accepted")
	}
}

func TestContextCancelled(t *testing.T) {
	c, _, _ := setup(t, []plexsim.Option{plexsim.WithFaults(plexsim.Faults{Latency: 2 * time.Second})})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.GetSalesOrder(ctx, "SO-1"); err == nil || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestBudgetWaitPastDeadline(t *testing.T) {
	c, sb, _ := setup(t, nil, plex.WithBudget(1, time.Hour))
	if _, err := c.GetSupplier(context.Background(), "S-1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.GetSupplier(ctx, "S-1"); err == nil || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("err = %v after %v: a turn after the deadline fails at once", err, time.Since(start))
	}
	if sb.Stats().Requests != 1 {
		t.Fatal("a call over budget reached Plex")
	}
}
