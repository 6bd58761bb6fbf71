package avatax_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avatax/sandbox"
)

// BenchmarkCreateOrAdjust is one createoradjust of a four-line sale
// against a transport that answers at once with what the sandbox answers
// for the $include the client sends (without it, lines with their details
// by jurisdiction, the summary and the addresses).
func BenchmarkCreateOrAdjust(b *testing.B) {
	d := decimal.RequireFromString
	m := saleModel("WEB-100234")
	m.CreateTransactionModel.Addresses = &avatax.AddressesModel{
		ShipFrom: &avatax.AddressLocationInfo{Line1: "100 Ravine Lane NE", City: "Bainbridge Island", Region: "WA", Country: "US", PostalCode: "98110"},
		ShipTo:   &avatax.AddressLocationInfo{Line1: "2000 Main Street", City: "Irvine", Region: "CA", Country: "US", PostalCode: "92614"}}
	for i := 1; i <= 4; i++ {
		n := strconv.Itoa(i)
		m.CreateTransactionModel.Lines = append(m.CreateTransactionModel.Lines, avatax.LineItemModel{
			Number: n, Quantity: d("1"), Amount: d(n + "9.95"), TaxCode: "P0000000", ItemCode: "SKU-" + n})
	}
	req, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	sb := sandbox.New(sandbox.Options{})
	answer := func(query string) []byte {
		r := httptest.NewRequest(http.MethodPost, "/api/v2/transactions/createoradjust"+query, bytes.NewReader(req))
		r.SetBasicAuth(sandbox.DefaultAccountID, sandbox.DefaultLicenseKey)
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, r)
		if w.Code != http.StatusCreated && w.Code != http.StatusOK {
			b.Fatalf("sandbox answered %d: %s", w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	fullJSON, linesJSON := answer(""), answer("?$include=Lines")
	b.Logf("answer %d bytes, %d with $include=Lines", len(fullJSON), len(linesJSON))

	c := avatax.New("https://avatax.test", testCreds, avatax.WithHTTPClient(&http.Client{Transport: roundTripFunc(
		func(r *http.Request) (*http.Response, error) {
			body := fullJSON
			if r.URL.Query().Get("$include") == "Lines" {
				body = linesJSON
			}
			io.Copy(io.Discard, r.Body)
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateOrAdjust(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
