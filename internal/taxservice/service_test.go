package taxservice

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/schemas"
)

// sandboxService is a service on the AvaTax emulator over HTTP.
func sandboxService(t *testing.T, cfg *Config) (*Service, *avataxsim.Sandbox) {
	t.Helper()
	sb := avataxsim.New()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return newService(t, cfg, srv.URL), sb
}

func newService(t *testing.T, cfg *Config, url string) *Service {
	t.Helper()
	client := avatax.New(url, avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey},
		avatax.WithDetails(),
		avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxElapsed: 2 * time.Second}))
	s, err := New(*cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func handle(t *testing.T, s *Service, r *Request) (*Response, error) {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Handle(context.Background(), raw)
	if err == nil {
		checkResponse(t, resp)
	}
	return resp, err
}

// checkResponse validates a response against its schema and checks that
// its totals add up.
func checkResponse(t *testing.T, resp *Response) {
	t.Helper()
	raw, _ := json.Marshal(resp)
	s, err := schema(ResponseSchema)
	if err != nil {
		t.Fatal(err)
	}
	if p := schemas.ValidateJSON(s, raw); p != nil {
		t.Fatalf("response %s refused by its schema: %v", raw, p)
	}
	sum := decimal.Zero
	add := func(tax Money, js []Jurisdiction) {
		sum = sum.Add(tax.Decimal())
		j := decimal.Zero
		for _, x := range js {
			j = j.Add(x.Tax.Decimal())
		}
		if len(js) > 0 && !j.Equal(tax.Decimal()) {
			t.Errorf("jurisdictions %v add up to %s, not %s", js, j, tax)
		}
	}
	for _, l := range resp.Lines {
		add(l.Tax, l.Jurisdictions)
		for _, c := range l.Charges {
			add(c.Tax, c.Jurisdictions)
		}
	}
	for _, c := range resp.Charges {
		add(c.Tax, c.Jurisdictions)
	}
	if !sum.Equal(resp.TotalTax.Decimal()) {
		t.Errorf("taxes add up to %s, total_tax %s", sum, resp.TotalTax)
	}
}

func TestAnswerQuoteByJurisdiction(t *testing.T) {
	s, sb := sandboxService(t, testConfig())
	resp, err := handle(t, s, example(t, func(m map[string]any) { m["request_type"], m["stage"] = "QUOTE", "order_entry" }))
	if err != nil {
		t.Fatal(err)
	}
	if resp.DocumentType != avatax.SalesOrder || resp.Committed || resp.Estimated {
		t.Fatalf("quote answered as %s committed=%v estimated=%v", resp.DocumentType, resp.Committed, resp.Estimated)
	}
	if len(resp.Lines) != 2 || len(resp.Lines[0].Charges) != 3 || len(resp.Charges) != 6 {
		t.Fatalf("lines %d (charges of line 1: %d), order charges %d", len(resp.Lines), len(resp.Lines[0].Charges), len(resp.Charges))
	}
	types := map[string]bool{}
	for _, j := range resp.Lines[0].Jurisdictions {
		types[j.Type] = true
	}
	if !types[JurisState] || resp.Lines[0].Tax.Decimal().IsZero() {
		t.Errorf("line 1 (New York): tax %s, jurisdictions %v", resp.Lines[0].Tax, resp.Lines[0].Jurisdictions)
	}
	if got := resp.Lines[1]; !got.Overridden || got.Tax.String() != "1.11" {
		t.Errorf("overridden line 2: %+v", got)
	}
	if docs := sb.Documents(avataxsim.DefaultCompany); len(docs) != 0 {
		t.Errorf("a quote recorded %d documents", len(docs))
	}
}

func TestAnswerInvoiceOnce(t *testing.T) {
	s, sb := sandboxService(t, testConfig())
	r := example(t, nil)
	first, err := handle(t, s, r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := handle(t, s, r)
	if err != nil {
		t.Fatal(err)
	}
	if first.DocumentCode != "OA-7-1234-I555" || first.DocumentType != avatax.SalesInvoice || !first.Committed {
		t.Fatalf("invoice: %s %s committed=%v", first.DocumentCode, first.DocumentType, first.Committed)
	}
	if again.TotalTax.String() != first.TotalTax.String() {
		t.Errorf("the repeated invoice has tax %s, the first %s", again.TotalTax, first.TotalTax)
	}
	docs := sb.Documents(avataxsim.DefaultCompany)
	if len(docs) != 1 || docs[0].Code != first.DocumentCode || docs[0].Status != avatax.StatusCommitted {
		t.Fatalf("documents after a repeated invoice: %+v", docs)
	}
	if !docs[0].TotalTax.Equal(first.TotalTax.Decimal()) {
		t.Errorf("document tax %s, answered %s", docs[0].TotalTax, first.TotalTax)
	}
}

func TestAnswerCredit(t *testing.T) {
	s, sb := sandboxService(t, testConfig())
	resp, err := handle(t, s, example(t, func(m map[string]any) { m["request_type"], m["credit_number"] = "CREDIT", 9 }))
	if err != nil {
		t.Fatal(err)
	}
	if resp.DocumentType != avatax.ReturnInvoice || resp.DocumentCode != "OA-7-1234-C9" || !resp.TotalTax.Decimal().IsNegative() ||
		!resp.TotalAmount.Decimal().IsNegative() {
		t.Fatalf("credit: %s %s amount %s tax %s", resp.DocumentType, resp.DocumentCode, resp.TotalAmount, resp.TotalTax)
	}
	if _, ok := sb.Document(avataxsim.DefaultCompany, "OA-7-1234-C9", avatax.ReturnInvoice); !ok {
		t.Error("no ReturnInvoice recorded")
	}
}

func TestAnswerCanadianOrder(t *testing.T) {
	s, _ := sandboxService(t, testConfig())
	resp, err := handle(t, s, example(t, func(m map[string]any) {
		m["request_type"], m["currency"] = "QUOTE", "CAD"
		m["ship_from"] = map[string]any{"line1": "1 Yonge St", "city": "Toronto", "region": "ON", "postal_code": "M5E 1W7", "country": "CA"}
		m["ship_to"] = map[string]any{"line1": "1 Rue Sainte-Catherine", "city": "Montreal", "region": "QC", "postal_code": "H2X 1K4", "country": "CA"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, j := range resp.Jurisdictions {
		types[j.Type] = true
	}
	if !types[JurisCountry] || !types[JurisState] {
		t.Errorf("Quebec: want GST (country) and QST (province), got %v", resp.Jurisdictions)
	}
}

func TestAnswerWhenAvaTaxIsUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	cfg := testConfig()
	cc := cfg.Companies[7]
	cc.FallbackToStandardRates = true
	cc.StandardRates = map[string]decimal.Decimal{"US-NY": dec("0.08875"), "US": dec("0.05")}
	cfg.Companies[7] = cc
	s := newService(t, cfg, url)

	quote := func(m map[string]any) { m["request_type"] = "QUOTE" }
	resp, err := handle(t, s, example(t, quote))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Estimated || resp.DocumentType != DocumentEstimate || resp.Lines[0].Tax.String() != "4.44" || resp.Lines[1].Tax.String() != "1.11" {
		t.Fatalf("estimated quote: %+v", resp)
	}
	for name, edit := range map[string]func(map[string]any){
		"invoice":       nil,
		"distributetax": func(m map[string]any) { m["request_type"] = "DISTRIBUTETAX" },
		"credit":        func(m map[string]any) { m["request_type"], m["credit_number"] = "CREDIT", 1 },
		"quote of a region without a rate": func(m map[string]any) {
			quote(m)
			m["ship_to"] = map[string]any{"city": "Toronto", "region": "ON", "postal_code": "M5E 1W7", "country": "CA"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := handle(t, s, example(t, edit))
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeAvaTaxUnavailable || !e.Retryable {
				t.Fatalf("error %v, want a retryable avatax_unavailable", err)
			}
		})
	}
	cc.FallbackToStandardRates = false
	cfg.Companies[7] = cc
	s = newService(t, cfg, url)
	if _, err := handle(t, s, example(t, quote)); AsError(err).Code != CodeAvaTaxUnavailable {
		t.Fatalf("quote of a company without fallback: %v", err)
	}
}

func TestAnswerDistributeTax(t *testing.T) {
	s, sb := sandboxService(t, testConfig())
	resp, err := handle(t, s, example(t, func(m map[string]any) {
		m["request_type"] = "DISTRIBUTETAX"
		m["freight_tax_override"], m["freight_tax_amount"] = true, "0.40"
		line(m, 1)["freight"] = 2
	}))
	if err != nil {
		t.Fatal(err)
	}
	l2 := resp.Lines[1]
	if !l2.Overridden || l2.Tax.String() != "1.11" || len(l2.Charges) != 1 || l2.Charges[0].Overridden || l2.Charges[0].Tax.Decimal().IsZero() {
		t.Errorf("overridden line 2 and its freight: %+v", l2)
	}
	for _, c := range resp.Charges {
		if c.Type == ChargeFreight && (c.Tax.String() != "0.40" || !c.Overridden) {
			t.Errorf("order freight: %+v, want its overridden tax 0.40", c)
		}
		if c.Type != ChargeFreight && (c.Overridden || c.Tax.Decimal().IsZero()) {
			t.Errorf("charge %s: %+v, want it calculated", c.Type, c)
		}
	}
	doc, ok := sb.Document(avataxsim.DefaultCompany, "OA-7-1234-I555", avatax.SalesInvoice)
	if !ok || doc.Status != avatax.StatusCommitted {
		t.Fatalf("no committed SalesInvoice: %+v", doc)
	}
	for _, l := range doc.Lines {
		overridden := l.LineNumber == "2" || l.LineNumber == "FREIGHT"
		if (l.TaxOverrideType == avatax.OverrideTaxAmount) != overridden {
			t.Errorf("AvaTax line %s: override %q", l.LineNumber, l.TaxOverrideType)
		}
	}
}

func TestMoneyHasTwoDecimals(t *testing.T) {
	for in, want := range map[string]string{"1": `"1.00"`, "0.125": `"0.13"`, "-0.125": `"-0.13"`, "12.3": `"12.30"`} {
		b, err := json.Marshal(money(dec(in)))
		if err != nil || string(b) != want {
			t.Errorf("%s: %s %v, want %s", in, b, err, want)
		}
	}
	var m Money
	if err := json.Unmarshal([]byte(`"4.44"`), &m); err != nil || m.String() != "4.44" {
		t.Errorf("decode: %s %v", m, err)
	}
}

func TestAnswerNamesWhatAvaTaxRefused(t *testing.T) {
	s, _ := sandboxService(t, testConfig())
	_, err := handle(t, s, example(t, func(m map[string]any) {
		m["ship_to"] = map[string]any{"city": "New York", "country": "US"} // neither a postal code nor a street
	}))
	if e := AsError(err); e.Code != CodeAvaTaxRefused || e.Field != "/ship_to" || e.Retryable {
		t.Fatalf("error %+v, want avatax_refused naming /ship_to", e)
	}

	p, err := Map(testConfig(), example(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	for refersTo, want := range map[string]string{
		"lines[0].taxCode": "/lines/0", "Lines[1]": "/lines/0/freight", "lines[4]": "/lines/1",
		"lines[5].amount": "/freight", "lines[99]": "", "Addresses.ShipFrom": "/ship_from", "": "",
	} {
		ae := &avatax.Error{StatusCode: 400, Code: "GetTaxError", Details: []avatax.ErrorDetail{{RefersTo: refersTo}}}
		if got := refusedField(ae, p); got != want {
			t.Errorf("refersTo %q: field %q, want %q", refersTo, got, want)
		}
	}
}
