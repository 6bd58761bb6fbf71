package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// discardPublisher keeps only the size of what it is given: the benchmark
// measures the transport, not JetStream.
type discardPublisher struct{ n int }

func (p *discardPublisher) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	p.n += len(m.Data)
	return &jetstream.PubAck{}, nil
}

// exchange is a createoradjust of a four-line sale and AvaTax's answer
// with its default $include (lines, details, summary, addresses), about
// 1 KB and 7 KB of JSON.
func exchange(tb testing.TB) (req, resp []byte) {
	tb.Helper()
	d := decimal.RequireFromString
	addr := &avatax.AddressLocationInfo{Line1: "100 Ravine Lane NE", City: "Bainbridge Island", Region: "WA", Country: "US", PostalCode: "98110"}
	in := avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: "WEB-100234", Type: avatax.SalesInvoice, CompanyCode: "DEFAULT", Date: "2026-05-01", CustomerCode: "CUST-4411",
		Addresses: &avatax.AddressesModel{ShipFrom: addr, ShipTo: &avatax.AddressLocationInfo{
			Line1: "2000 Main Street", City: "Irvine", Region: "CA", Country: "US", PostalCode: "92614"}},
		CurrencyCode: "USD", Description: "Order WEB-100234"}}
	out := avatax.TransactionModel{ID: 8817263544, Code: "WEB-100234", CompanyID: 242975, Date: "2026-05-01",
		Status: avatax.StatusSaved, Type: avatax.SalesInvoice, CurrencyCode: "USD", CustomerCode: "CUST-4411",
		CustomerVendorCode: "CUST-4411", AdjustmentReason: "NotAdjusted", Version: 1, SoftwareVersion: "24.4.1.0",
		ExchangeRateEffectiveDate: "2026-05-01", ModifiedDate: "2026-05-01T09:12:44.123Z", TaxDate: "2026-05-01",
		Messages: []avatax.AvaTaxMessage{}}
	juris := []struct{ typ, code, name, rate string }{
		{"STA", "06", "CALIFORNIA", "0.06"}, {"CTY", "059", "ORANGE", "0.0025"}, {"STJ", "EMTV0", "ORANGE CO LOCAL TAX SL", "0.01"}}
	for i := 1; i <= 4; i++ {
		n := strconv.Itoa(i)
		amount := d(n + "9.95")
		in.CreateTransactionModel.Lines = append(in.CreateTransactionModel.Lines, avatax.LineItemModel{Number: n,
			Quantity: d("1"), Amount: amount, TaxCode: "P0000000", ItemCode: "SKU-" + n, Description: "Item " + n})
		l := avatax.TransactionLineModel{ID: 9000 + int64(i), TransactionID: out.ID, LineNumber: n, Description: "Item " + n,
			IsItemTaxable: true, ItemCode: "SKU-" + n, LineAmount: amount, Quantity: d("1"), ReportingDate: "2026-05-01",
			TaxableAmount: amount, TaxCode: "P0000000", TaxCodeID: 8087, TaxDate: "2026-05-01"}
		for j, jr := range juris {
			tax := amount.Mul(d(jr.rate)).Round(2)
			l.Tax, l.TaxCalculated = l.Tax.Add(tax), l.TaxCalculated.Add(tax)
			l.Details = append(l.Details, avatax.TransactionLineDetailModel{ID: int64(i*10 + j), TransactionLineID: l.ID,
				TransactionID: out.ID, Country: "US", Region: "CA", JurisCode: jr.code, JurisName: jr.name, JurisType: jr.typ,
				JurisdictionType: jr.typ, Rate: d(jr.rate), Tax: tax, TaxableAmount: amount, TaxType: "Sales",
				TaxName: "CA STATE TAX", TaxCalculated: tax, RateType: "General", RateTypeCode: "G"})
		}
		out.Lines = append(out.Lines, l)
		out.TotalAmount, out.TotalTax = out.TotalAmount.Add(amount), out.TotalTax.Add(l.Tax)
	}
	out.TotalTaxable, out.TotalTaxCalculated = out.TotalAmount, out.TotalTax
	for _, jr := range juris {
		out.Summary = append(out.Summary, avatax.TransactionSummary{Country: "US", Region: "CA", JurisType: jr.typ,
			JurisCode: jr.code, JurisName: jr.name, TaxType: "Sales", TaxName: "CA STATE TAX", RateType: "General",
			Taxable: out.TotalAmount, Rate: d(jr.rate), Tax: out.TotalAmount.Mul(d(jr.rate)).Round(2)})
	}
	out.Addresses = []avatax.TransactionAddressModel{
		{ID: 1, TransactionID: out.ID, BoundaryLevel: "Address", Line1: "100 RAVINE LN NE", City: "BAINBRIDGE ISLAND",
			Region: "WA", PostalCode: "98110-2687", Country: "US", TaxRegionID: 4024330, Latitude: "47.6272", Longitude: "-122.5119"},
		{ID: 2, TransactionID: out.ID, BoundaryLevel: "Address", Line1: "2000 MAIN ST", City: "IRVINE",
			Region: "CA", PostalCode: "92614-7202", Country: "US", TaxRegionID: 4017056, Latitude: "33.6846", Longitude: "-117.8265"}}
	var err error
	if req, err = json.Marshal(in); err != nil {
		tb.Fatal(err)
	}
	if resp, err = json.Marshal(out); err != nil {
		tb.Fatal(err)
	}
	return req, resp
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
			tr := NewTransport(base, Options{Publisher: pub, AccountID: account, LicenseKey: key})
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
