package avatax_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// BenchmarkCreateOrAdjust is one createoradjust of a four-line sale
// against a transport that answers at once, as AvaTax shapes the answer
// for the $include the client sends: without it, lines with their details
// by jurisdiction, the summary and the addresses.
func BenchmarkCreateOrAdjust(b *testing.B) {
	full := answer()
	lines := full
	lines.Lines = make([]avatax.TransactionLineModel, len(full.Lines))
	for i, l := range full.Lines {
		l.Details = nil
		lines.Lines[i] = l
	}
	lines.Summary, lines.Addresses = nil, nil
	fullJSON, _ := json.Marshal(full)
	linesJSON, _ := json.Marshal(lines)
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
	m := saleModel(full.Code)
	for _, l := range full.Lines {
		m.CreateTransactionModel.Lines = append(m.CreateTransactionModel.Lines, avatax.LineItemModel{
			Number: l.LineNumber, Quantity: l.Quantity, Amount: l.LineAmount, TaxCode: l.TaxCode, ItemCode: l.ItemCode})
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateOrAdjust(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// answer is AvaTax's answer to a createoradjust of a four-line sale taxed
// in three jurisdictions, with its default $include.
func answer() avatax.TransactionModel {
	d := decimal.RequireFromString
	out := avatax.TransactionModel{ID: 8817263544, Code: "WEB-100234", CompanyID: 242975, Date: "2026-05-01",
		Status: avatax.StatusSaved, Type: avatax.SalesInvoice, CurrencyCode: "USD", CustomerCode: "C1",
		AdjustmentReason: "NotAdjusted", Version: 1, ModifiedDate: "2026-05-01T09:12:44.123Z", TaxDate: "2026-05-01"}
	juris := []struct{ typ, code, name, rate string }{
		{"STA", "06", "CALIFORNIA", "0.06"}, {"CTY", "059", "ORANGE", "0.0025"}, {"STJ", "EMTV0", "ORANGE CO LOCAL TAX SL", "0.01"}}
	for i := 1; i <= 4; i++ {
		n := strconv.Itoa(i)
		amount := d(n + "9.95")
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
			Region: "WA", PostalCode: "98110-2687", Country: "US", TaxRegionID: 4024330},
		{ID: 2, TransactionID: out.ID, BoundaryLevel: "Address", Line1: "2000 MAIN ST", City: "IRVINE",
			Region: "CA", PostalCode: "92614-7202", Country: "US", TaxRegionID: 4017056}}
	return out
}
