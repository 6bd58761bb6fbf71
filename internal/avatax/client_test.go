package avatax_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCallsAskForLinesOnly: every call answered with a document asks for
// its lines without details ($include=Lines), and tells the transport
// below it which document the answer carries (DocumentCode).
func TestCallsAskForLinesOnly(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Query().Get("$include") != "Lines" && !strings.HasSuffix(r.URL.Path, "/resolve") {
			t.Errorf("%s %s: $include %q, want Lines", r.Method, r.URL, r.URL.Query().Get("$include"))
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/resolve"):
			ok(w, avatax.AddressResolutionModel{})
		case strings.HasSuffix(r.URL.Path, "/refund"):
			ok(w, doc("SO-5-R1", avatax.ReturnInvoice, avatax.StatusCommitted))
		default:
			ok(w, doc("SO-5", avatax.SalesInvoice, avatax.StatusCommitted))
		}
	})
	var mu sync.Mutex
	var seen []string
	record := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		code, known := avatax.DocumentCode(r.Context())
		if !known {
			code = "?"
		}
		mu.Lock()
		seen = append(seen, r.URL.Query().Get("documentType")+" "+code)
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})
	c := f.client(avatax.WithHTTPClient(&http.Client{Transport: record}))
	ctx := context.Background()
	steps := []func() error{
		func() error { _, err := c.CreateOrAdjust(ctx, saleModel("SO-5")); return err },
		func() error { _, err := c.CreateOrAdjust(ctx, saleModel("")); return err },
		func() error { _, err := c.Get(ctx, "DEFAULT", "SO-5", avatax.SalesInvoice); return err },
		func() error { _, err := c.Commit(ctx, "DEFAULT", "SO-5", ""); return err },
		func() error {
			_, err := c.Void(ctx, "DEFAULT", "SO-5", avatax.SalesInvoice, avatax.VoidDocVoided)
			return err
		},
		func() error {
			_, err := c.Refund(ctx, "DEFAULT", "SO-5", avatax.RefundTransactionModel{RefundTransactionCode: "SO-5-R1", RefundDate: "2026-05-02"})
			return err
		},
		func() error {
			_, err := c.Refund(ctx, "DEFAULT", "SO-5", avatax.RefundTransactionModel{RefundDate: "2026-05-02"})
			return err
		},
		func() error {
			_, err := c.ResolveAddress(ctx, avatax.AddressValidationInfo{Line1: "1 Main St"})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []string{" SO-5", " ?", "SalesInvoice SO-5", " SO-5", "SalesInvoice SO-5",
		"SalesInvoice SO-5-R1", "SalesInvoice ?", " "}
	if strings.Join(seen, ", ") != strings.Join(want, ", ") {
		t.Errorf("type and code of each request: %q, want %q", seen, want)
	}
	if code, known := avatax.DocumentCode(ctx); code != "" || known {
		t.Errorf("DocumentCode outside the client: %q %v", code, known)
	}
}

// TestWithDetailsAsksForTheDetails: a client built WithDetails asks for
// the lines' details by jurisdiction, for callers that report them.
func TestWithDetailsAsksForTheDetails(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if got := r.URL.Query().Get("$include"); got != "Details" {
			t.Errorf("%s %s: $include %q, want Details", r.Method, r.URL, got)
		}
		ok(w, doc("SO-6", avatax.SalesOrder, avatax.StatusSaved))
	})
	c := f.client(avatax.WithDetails())
	if _, err := c.CreateOrAdjust(context.Background(), saleModel("SO-6")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "DEFAULT", "SO-6", avatax.SalesOrder); err != nil {
		t.Fatal(err)
	}
}
