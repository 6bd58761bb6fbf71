// Package avatax_test drives the AvaTax client against the sandbox under
// fault injection (storm_test.go) and, when credentials are given, against
// Avalara's own sandbox (live_test.go).
package avatax_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
)

const (
	stormOrders = 40
	company     = "DEFAULT"
)

// counters aggregate what the client reports about its calls.
type counters struct {
	calls, attempts, checks, recovered atomic.Int64
}

func (n *counters) observe(info *avatax.CallInfo) {
	n.calls.Add(1)
	n.attempts.Add(int64(info.Attempts))
	n.checks.Add(int64(info.Checks))
	if info.Recovered {
		n.recovered.Add(1)
	}
}

// runner performs the logical calls of one order and checks each answer.
type runner struct {
	c *avatax.Client
	n *counters
}

// do runs one logical call and checks the document it ends with.
func (r *runner) do(ctx context.Context, what string, want avatax.TransactionModel,
	call func(ctx context.Context) (*avatax.TransactionModel, error)) (*avatax.TransactionModel, error) {
	var info avatax.CallInfo
	got, err := call(avatax.WithCallInfo(ctx, &info))
	r.n.observe(&info)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, want.Code, err)
	}
	if got.Code != want.Code || got.Type != want.Type || got.Status != want.Status {
		return nil, fmt.Errorf("%s: got %s %s %s, want %s %s %s (attempts %d, recovered %v)", what,
			got.Code, got.Type, got.Status, want.Code, want.Type, want.Status, info.Attempts, info.Recovered)
	}
	return got, nil
}

func sale(code string, commit bool, qty int64) avatax.CreateOrAdjustTransactionModel {
	addr := &avatax.AddressesModel{
		ShipFrom: &avatax.AddressLocationInfo{Line1: "100 Ravine Ln NE", City: "Bainbridge Island", Region: "WA", PostalCode: "98110", Country: "US"},
		ShipTo:   &avatax.AddressLocationInfo{Line1: "2000 Main St", City: "Irvine", Region: "CA", PostalCode: "92614", Country: "US"},
	}
	return avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: code, Type: avatax.SalesInvoice, CompanyCode: company, Date: "2026-05-01", CustomerCode: "CUST-" + code,
		Addresses: addr, Commit: commit, CurrencyCode: "USD",
		Lines: []avatax.LineItemModel{
			{Number: "1", Quantity: decimal.NewFromInt(qty), Amount: decimal.NewFromInt(qty).Mul(decimal.RequireFromString("19.99")), TaxCode: "P0000000", ItemCode: "SKU-1"},
			{Number: "2", Quantity: decimal.NewFromInt(1), Amount: decimal.RequireFromString("5.00"), TaxCode: "FR020100", ItemCode: "SHIPPING"},
		},
	}}
}

// order is the life of one order, as the worker drives it: create the
// uncommitted invoice, adjust it, commit it, refund one line; every fourth
// order also voids a second document, every fourth deletes one.
func (r *runner) order(ctx context.Context, i int) error {
	code := fmt.Sprintf("STORM-%03d", i)
	want := func(c, typ, status string) avatax.TransactionModel {
		return avatax.TransactionModel{Code: c, Type: typ, Status: status}
	}
	if _, err := r.do(ctx, "create", want(code, avatax.SalesInvoice, avatax.StatusSaved), func(ctx context.Context) (*avatax.TransactionModel, error) {
		return r.c.CreateOrAdjust(ctx, sale(code, false, 1))
	}); err != nil {
		return err
	}
	if _, err := r.do(ctx, "adjust", want(code, avatax.SalesInvoice, avatax.StatusSaved), func(ctx context.Context) (*avatax.TransactionModel, error) {
		return r.c.CreateOrAdjust(ctx, sale(code, false, int64(2+i%3)))
	}); err != nil {
		return err
	}
	if _, err := r.do(ctx, "commit", want(code, avatax.SalesInvoice, avatax.StatusCommitted), func(ctx context.Context) (*avatax.TransactionModel, error) {
		return r.c.Commit(ctx, company, code, avatax.SalesInvoice)
	}); err != nil {
		return err
	}
	refund := avatax.RefundTransactionModel{RefundTransactionCode: code + "-R1", RefundDate: "2026-05-10",
		RefundType: avatax.RefundPartial, RefundLines: []string{"1"}}
	if _, err := r.do(ctx, "refund", want(code+"-R1", avatax.ReturnInvoice, avatax.StatusCommitted), func(ctx context.Context) (*avatax.TransactionModel, error) {
		return r.c.Refund(ctx, company, code, refund)
	}); err != nil {
		return err
	}
	if i%4 == 0 || i%4 == 1 {
		other, reason := code+"-V", avatax.VoidDocVoided
		if i%4 == 1 {
			other, reason = code+"-D", avatax.VoidDocDeleted
		}
		if _, err := r.do(ctx, "create", want(other, avatax.SalesInvoice, avatax.StatusSaved), func(ctx context.Context) (*avatax.TransactionModel, error) {
			return r.c.CreateOrAdjust(ctx, sale(other, false, 1))
		}); err != nil {
			return err
		}
		if _, err := r.do(ctx, "void", want(other, avatax.SalesInvoice, avatax.StatusCancelled), func(ctx context.Context) (*avatax.TransactionModel, error) {
			return r.c.Void(ctx, company, other, avatax.SalesInvoice, reason)
		}); err != nil {
			return err
		}
	}
	_, err := r.do(ctx, "get", want(code, avatax.SalesInvoice, avatax.StatusCommitted), func(ctx context.Context) (*avatax.TransactionModel, error) {
		return r.c.Get(ctx, company, code, avatax.SalesInvoice)
	})
	return err
}

// runAll runs every order concurrently against the sandbox and returns the
// documents the sandbox holds at the end.
func runAll(t *testing.T, sb *avataxsim.Sandbox, opts ...avatax.Option) *counters {
	t.Helper()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := avatax.New(srv.URL, avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey}, opts...)
	r := &runner{c: c, n: &counters{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range stormOrders {
		wg.Go(func() {
			if err := r.order(ctx, i); err != nil {
				t.Errorf("order %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return r.n
}

// summary is what must match between the storm and a quiet run: each
// document's identity, status and totals.
func summary(docs []avatax.TransactionModel) []string {
	var out []string
	for _, d := range docs {
		out = append(out, fmt.Sprintf("%s %s %s amount=%s taxable=%s tax=%s lines=%d", d.Code, d.Type, d.Status,
			d.TotalAmount.StringFixed(2), d.TotalTaxable.StringFixed(2), d.TotalTax.StringFixed(2), len(d.Lines)))
	}
	sort.Strings(out)
	return out
}

// TestStorm drives the client through a 429 storm (well over half the
// requests refused, with Retry-After) plus 5xx answers, half of which
// arrive after the request took effect, and checks that every logical call
// ends with the right document and that AvaTax holds exactly the documents
// a quiet run produces: none missing, none duplicated.
func TestStorm(t *testing.T) {
	// A quiet run gives the expected documents.
	quiet := avataxsim.New()
	runAll(t, quiet, avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 1}))
	want := summary(quiet.Documents(company))
	if len(want) != stormOrders*2+stormOrders/4 {
		t.Fatalf("quiet run left %d documents:\n%v", len(want), want)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("fault seed %d", seed)
	storm := avataxsim.New(avataxsim.WithFaults(avataxsim.Faults{
		TooManyRequestsRate: 0.6,  // 60% refused with 429 RequestLimitExceeded
		RetryAfter:          -1,   // "Retry-After: 0": honoured, and keeps the test fast
		ErrorRate:           0.25, // of the rest: 5% 500 and 5% 503 overall
		AfterEffectRate:     0.5,  // half of those after the request took effect
		Seed:                seed,
	}))
	start := time.Now()
	n := runAll(t, storm,
		avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 60, InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxElapsed: 20 * time.Second}),
		avatax.WithTimeout(5*time.Second),
		avatax.WithMaxConcurrency(8),
		avatax.WithRateLimit(5000, 50))
	elapsed := time.Since(start)

	got := summary(storm.Documents(company))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("documents after the storm differ from a quiet run\n got: %v\nwant: %v", got, want)
	}

	total := 0
	for _, v := range storm.Calls() {
		total += v
	}
	faults := storm.Faults()
	refused := faults["429"]
	server500 := faults["500"] + faults["500-after"]
	after := faults["500-after"] + faults["503-after"]
	t.Logf("%d logical calls, %d requests (%d attempts, %d look-ups) in %s; faults %v; %d calls recovered by a look-up",
		n.calls.Load(), total, n.attempts.Load(), n.checks.Load(), elapsed.Round(time.Millisecond), faults, n.recovered.Load())
	if 2*refused <= total {
		t.Errorf("storm too weak: %d of %d requests refused with 429, want more than half", refused, total)
	}
	if float64(server500) < 0.03*float64(total) {
		t.Errorf("storm too weak: %d of %d requests answered 500, want about 5%%", server500, total)
	}
	if after == 0 || n.checks.Load() == 0 {
		t.Errorf("no request failed after taking effect (%d) or no look-up was made (%d)", after, n.checks.Load())
	}
	if c := storm.Calls(); c["create"] != 0 {
		t.Errorf("the client used transactions/create %d times; the storm should only use createoradjust", c["create"])
	}
}
