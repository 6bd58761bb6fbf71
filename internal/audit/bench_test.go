package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
)

// discardPublisher keeps only the size of what it is given: the benchmark
// measures the transport, not JetStream.
type discardPublisher struct{ n int }

func (p *discardPublisher) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	p.n += len(m.Data)
	return &jetstream.PubAck{}, nil
}

// exchange is a createoradjust of a four-line sale and the sandbox's
// answer with AvaTax's default $include (lines, details, summary,
// addresses).
func exchange(tb testing.TB) (req, resp []byte) {
	tb.Helper()
	d := decimal.RequireFromString
	in := avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: "WEB-100234", Type: avatax.SalesInvoice, CompanyCode: "DEFAULT", Date: "2026-05-01", CustomerCode: "CUST-4411",
		Addresses: &avatax.AddressesModel{
			ShipFrom: &avatax.AddressLocationInfo{Line1: "100 Ravine Lane NE", City: "Bainbridge Island", Region: "WA", Country: "US", PostalCode: "98110"},
			ShipTo:   &avatax.AddressLocationInfo{Line1: "2000 Main Street", City: "Irvine", Region: "CA", Country: "US", PostalCode: "92614"}},
		CurrencyCode: "USD", Description: "Order WEB-100234"}}
	for i := 1; i <= 4; i++ {
		n := strconv.Itoa(i)
		in.CreateTransactionModel.Lines = append(in.CreateTransactionModel.Lines, avatax.LineItemModel{Number: n,
			Quantity: d("1"), Amount: d(n + "9.95"), TaxCode: "P0000000", ItemCode: "SKU-" + n, Description: "Item " + n})
	}
	req, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v2/transactions/createoradjust", bytes.NewReader(req))
	r.SetBasicAuth(avataxsim.DefaultAccountID, avataxsim.DefaultLicenseKey)
	w := httptest.NewRecorder()
	avataxsim.New().ServeHTTP(w, r)
	if w.Code != http.StatusCreated && w.Code != http.StatusOK {
		tb.Fatalf("sandbox answered %d: %s", w.Code, w.Body)
	}
	return req, w.Body.Bytes()
}

// BenchmarkRoundTrip records one createoradjust exchange, as the AvaTax
// client makes it (with the document code in the context) and as any
// other caller would (the transport finds the code in the bodies).
func BenchmarkRoundTrip(b *testing.B) {
	reqBody, respBody := exchange(b)
	b.Logf("request %d bytes, answer %d bytes", len(reqBody), len(respBody))
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"},
			"X-Correlation-Id": {"9c1d6f0e-3a52-4f1e-9d1a-77c1d2b0e8aa"}, "Serverduration": {"00:00:00.0312500"}},
			Body: io.NopCloser(bytes.NewReader(respBody)), Request: r}, nil
	})
	ctx := WithOrder(context.Background(), "WEB-100234", "EV-1")
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"client", clientContext(b, ctx, reqBody, respBody)},
		{"parsed", ctx},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pub := &discardPublisher{}
			tr := NewTransport(base, WithPublisher(pub), WithCredentials(account, key))
			b.SetBytes(int64(len(reqBody) + len(respBody)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := http.NewRequestWithContext(bc.ctx, http.MethodPost,
					"https://sandbox-rest.avatax.com/api/v2/transactions/createoradjust", bytes.NewReader(reqBody))
				if err != nil {
					b.Fatal(err)
				}
				r.Header.Set("Authorization", "Basic dGVzdDp0ZXN0")
				r.Header.Set("Accept", "application/json")
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Avalara-Client", "taxbridge; dev; GoClient; 1.1.0; host")
				resp, err := tr.RoundTrip(r)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// clientContext is ctx as the AvaTax client passes it to its transport
// for a createoradjust (with the document code), without its deadline.
func clientContext(tb testing.TB, ctx context.Context, req, answer []byte) context.Context {
	tb.Helper()
	var got context.Context
	c := avatax.New("https://avatax.test", avatax.Credentials{AccountID: account, LicenseKey: key},
		avatax.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Context()
			return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(answer)), Request: r}, nil
		})}))
	var m avatax.CreateOrAdjustTransactionModel
	if err := json.Unmarshal(req, &m); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.CreateOrAdjust(ctx, m); err != nil {
		tb.Fatal(err)
	}
	if code, ok := avatax.DocumentCode(got); !ok || code != m.CreateTransactionModel.Code {
		tb.Fatalf("document code %q %v in the client's context", code, ok)
	}
	return context.WithoutCancel(got)
}
