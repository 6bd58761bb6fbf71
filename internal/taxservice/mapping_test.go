package taxservice

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func testConfig() *Config {
	return &Config{
		Companies: map[int]CompanyConfig{
			7: {AvaTaxCompany: "DEFAULT"},
			8: {AvaTaxCompany: "DEFAULT", SendQuoteNotInvoice: true},
		},
		ChargeTaxCodes: map[string]string{ChargeHandling: "OH010000"},
		CrossReference: []CrossReference{
			{ItemClass: "ACC", TaxCode: "PC030000"},
			{ItemClass: "APP", Division: "10", Department: "200", Class: "3", TaxCode: "PC040100"},
		},
		DefaultTaxCode: "P0000000",
	}
}

// example decodes testdata/invoice.json after edit.
func example(t *testing.T, edit func(m map[string]any)) *Request {
	t.Helper()
	raw, err := os.ReadFile("testdata/invoice.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	raw, _ = json.Marshal(m)
	r, err := DecodeRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func line(m map[string]any, i int) map[string]any { return m["lines"].([]any)[i].(map[string]any) }

func findLine(t *testing.T, p *Plan, number string) (avatax.LineItemModel, PlanLine) {
	t.Helper()
	for i, l := range p.Model.Lines {
		if l.Number == number {
			return l, p.Lines[i]
		}
	}
	t.Fatalf("no AvaTax line %q in %v", number, p.Lines)
	return avatax.LineItemModel{}, PlanLine{}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestMapDocumentByRequestType(t *testing.T) {
	tests := map[string]struct {
		edit     func(m map[string]any)
		sentAs   string
		docType  string
		commit   bool
		code     string
		negative bool
	}{
		"quote at order entry": {func(m map[string]any) {
			m["request_type"], m["stage"] = "QUOTE", "order_entry"
			delete(m, "invoice_number")
		}, Quote, avatax.SalesOrder, false, "OA-7-1234-S1-Q", false},
		"quote at pick slip": {func(m map[string]any) { m["request_type"], m["stage"] = "QUOTE", "pick_slip" },
			Quote, avatax.SalesOrder, false, "OA-7-1234-S1-Q", false},
		"invoice at billing": {nil, Invoice, avatax.SalesInvoice, true, "OA-7-1234-I555", false},
		"distributetax at billing": {func(m map[string]any) { m["request_type"] = "DISTRIBUTETAX" },
			DistributeTax, avatax.SalesInvoice, true, "OA-7-1234-I555", false},
		"credit": {func(m map[string]any) { m["request_type"], m["credit_number"] = "CREDIT", 77 },
			Credit, avatax.ReturnInvoice, true, "OA-7-1234-C77", true},
		"invoice of a company sending quotes": {func(m map[string]any) { m["company"] = 8 },
			Quote, avatax.SalesOrder, false, "OA-8-1234-S1-Q", false},
		"distributetax of a company sending quotes": {func(m map[string]any) { m["company"], m["request_type"] = 8, "DISTRIBUTETAX" },
			Quote, avatax.SalesOrder, false, "OA-8-1234-S1-Q", false},
		"invoice of an orchestration fulfilment": {func(m map[string]any) { m["orchestration_fulfillment"] = true },
			Quote, avatax.SalesOrder, false, "OA-7-1234-S1-Q", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Map(testConfig(), example(t, tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			m := p.Model
			if p.SentAs != tc.sentAs || m.Type != tc.docType || m.Commit != tc.commit || m.Code != tc.code {
				t.Fatalf("sent as %s: %s commit=%v code %s; want %s: %s commit=%v code %s",
					p.SentAs, m.Type, m.Commit, m.Code, tc.sentAs, tc.docType, tc.commit, tc.code)
			}
			for _, l := range m.Lines {
				if l.Amount.IsNegative() != tc.negative || l.Amount.IsZero() {
					t.Errorf("line %s amount %s, negative=%v wanted", l.Number, l.Amount, tc.negative)
				}
			}
			if m.CompanyCode != "DEFAULT" || m.Date != "2026-11-02" || m.CustomerCode != "42" ||
				m.Addresses.ShipTo.PostalCode != "10118" || m.Addresses.ShipFrom.Region != "CA" {
				t.Errorf("header %+v", m)
			}
		})
	}
}

func TestMapIsDeterministic(t *testing.T) {
	a, _ := Map(testConfig(), example(t, nil))
	b, _ := Map(testConfig(), example(t, nil))
	ja, _ := json.Marshal(a.Model)
	jb, _ := json.Marshal(b.Model)
	if string(ja) != string(jb) {
		t.Fatalf("two maps of one request differ:\n%s\n%s", ja, jb)
	}
}

func TestMapChargesAreLinesOfTheirOwn(t *testing.T) {
	p, err := Map(testConfig(), example(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ number, charge, code, amount string }{
		{"1", "", "P0000000", "49.98"}, // APP with blank long SKU: no exact match, the default
		{"1-FREIGHT", ChargeFreight, "FR020100", "3"},
		{"1-HANDLING", ChargeHandling, "OH010000", "1.5"},
		{"1-GIFTWRAP", ChargeGiftWrap, "P0000000", "2"},
		{"2", "", "PC030000", "20"},
		{"FREIGHT", ChargeFreight, "FR020100", "5"},
		{"HANDLING", ChargeHandling, "OH010000", "1"},
		{"DUTY", ChargeDuty, "P0000000", "2"},
		{"GIFTWRAP", ChargeGiftWrap, "P0000000", "3"},
		{"ADDLFREIGHT", ChargeAdditionalFreight, "FR020100", "4"},
		{"SHIPPERITEM", ChargeShipperItemCharges, "P0000000", "6"},
	}
	if len(p.Model.Lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(p.Model.Lines), len(want))
	}
	for i, w := range want {
		l, pl := p.Model.Lines[i], p.Lines[i]
		if l.Number != w.number || pl.Charge != w.charge || l.TaxCode != w.code || !l.Amount.Equal(dec(w.amount)) {
			t.Errorf("line %d: %s %q %s %s, want %s %q %s %s", i, l.Number, pl.Charge, l.TaxCode, l.Amount, w.number, w.charge, w.code, w.amount)
		}
	}
}

func TestMapTaxOverrides(t *testing.T) {
	p, err := Map(testConfig(), example(t, func(m map[string]any) {
		m["request_type"] = "DISTRIBUTETAX"
		m["freight_tax_override"], m["freight_tax_amount"] = true, "0.40"
		l := line(m, 1)
		l["freight"] = 2 // a charge of an overridden line stays taxable
	}))
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := findLine(t, p, "2")
	if l2.TaxOverride == nil || l2.TaxOverride.Type != avatax.OverrideTaxAmount || !l2.TaxOverride.TaxAmount.Equal(dec("1.11")) {
		t.Errorf("overridden line: %+v", l2.TaxOverride)
	}
	fr, _ := findLine(t, p, "FREIGHT")
	if fr.TaxOverride == nil || !fr.TaxOverride.TaxAmount.Equal(dec("0.40")) {
		t.Errorf("freight override: %+v", fr.TaxOverride)
	}
	for _, n := range []string{"1", "2-FREIGHT", "1-FREIGHT", "HANDLING", "DUTY"} {
		if l, _ := findLine(t, p, n); l.TaxOverride != nil {
			t.Errorf("line %s carries an override %+v; it is calculated", n, l.TaxOverride)
		}
	}

	// A credit negates the overridden tax with the amounts.
	p, err = Map(testConfig(), example(t, func(m map[string]any) {
		m["request_type"], m["credit_number"] = "CREDIT", 3
	}))
	if err != nil {
		t.Fatal(err)
	}
	l2, pl := findLine(t, p, "2")
	if !l2.TaxOverride.TaxAmount.Equal(dec("-1.11")) || !pl.Override.Equal(dec("-1.11")) || !l2.Amount.Equal(dec("-20")) {
		t.Errorf("credit line 2: amount %s override %s", l2.Amount, l2.TaxOverride.TaxAmount)
	}
}

func TestMapFreightOverrideWithoutFreight(t *testing.T) {
	p, err := Map(testConfig(), example(t, func(m map[string]any) {
		delete(m, "freight")
		m["freight_tax_override"], m["freight_tax_amount"] = true, 1
	}))
	if err != nil {
		t.Fatal(err)
	}
	fr, _ := findLine(t, p, "FREIGHT")
	if !fr.Amount.IsZero() || !fr.TaxOverride.TaxAmount.Equal(dec("1")) {
		t.Errorf("freight line %+v", fr)
	}
}

func TestMapTaxCodeCrossReference(t *testing.T) {
	tests := map[string]struct {
		class, div, dept, cls, own string
		want                       string
	}{
		"exact match":               {"APP", "10", "200", "3", "", "PC040100"},
		"blank matches blank":       {"ACC", "", "", "", "", "PC030000"},
		"partial match is no match": {"APP", "10", "200", "", "", "P0000000"},
		"extra value is no match":   {"ACC", "10", "", "", "", "P0000000"},
		"no row":                    {"FUR", "", "", "", "", "P0000000"},
		"the item's own code wins":  {"APP", "10", "200", "3", "PC999999", "PC999999"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Map(testConfig(), example(t, func(m map[string]any) {
				l := line(m, 0)
				l["item_class"], l["division"], l["department"], l["class"] = tc.class, tc.div, tc.dept, tc.cls
				if tc.own != "" {
					l["tax_code"] = tc.own
				}
			}))
			if err != nil {
				t.Fatal(err)
			}
			if l, _ := findLine(t, p, "1"); l.TaxCode != tc.want {
				t.Errorf("tax code %s, want %s", l.TaxCode, tc.want)
			}
		})
	}
	cfg := testConfig()
	cfg.DefaultTaxCode = ""
	p, err := Map(cfg, example(t, func(m map[string]any) { line(m, 0)["item_class"] = "FUR" }))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := findLine(t, p, "1"); l.TaxCode != DefaultItemTaxCode {
		t.Errorf("without a configured default: %s, want %s", l.TaxCode, DefaultItemTaxCode)
	}
}

func TestMapExemption(t *testing.T) {
	tests := map[string]struct {
		expiry  string
		refused bool
	}{
		"no expiry":              {"", false},
		"expires later":          {"2027-01-01", false},
		"expires on the day":     {"2026-11-02", false},
		"expired the day before": {"2026-11-01", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Map(testConfig(), example(t, func(m map[string]any) {
				c := m["customer"].(map[string]any)
				c["exemption_tax_id"] = "EX-123"
				if tc.expiry != "" {
					c["exemption_expiry_date"] = tc.expiry
				}
			}))
			if tc.refused {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeExemptionExpired || e.Field != "/customer/exemption_expiry_date" ||
					!strings.Contains(e.Message, "expired") {
					t.Fatalf("error %v, want exemption_expired naming the expiry date", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Model.ExemptionNo != "EX-123" {
				t.Errorf("exemptionNo %q", p.Model.ExemptionNo)
			}
		})
	}
}

func TestMapRefusesCompanies(t *testing.T) {
	for name, company := range map[string]int{"tax-inclusive pricing": 9, "not configured": 5} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Companies[9] = CompanyConfig{AvaTaxCompany: "DEFAULT", TaxIncludedInPrice: true} // Map does not assume a validated Config
			_, err := Map(cfg, example(t, func(m map[string]any) { m["company"] = company }))
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeCompanyRefused || e.Field != "/company" {
				t.Fatalf("error %v, want company_refused naming /company", err)
			}
		})
	}
	cfg := testConfig()
	cfg.Default = &CompanyConfig{AvaTaxCompany: "OTHER"}
	p, err := Map(cfg, example(t, func(m map[string]any) { m["company"] = 5 }))
	if err != nil || p.Model.CompanyCode != "OTHER" {
		t.Fatalf("default company: %v %v", p, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"tax-inclusive company": {Config{Companies: map[int]CompanyConfig{1: {AvaTaxCompany: "A", TaxIncludedInPrice: true}}}, "tax-inclusive"},
		"tax-inclusive default": {Config{Default: &CompanyConfig{AvaTaxCompany: "A", TaxIncludedInPrice: true}}, "tax-inclusive"},
		"no AvaTax company":     {Config{Companies: map[int]CompanyConfig{1: {}}}, "AvaTaxCompany"},
		"rate above one": {Config{Companies: map[int]CompanyConfig{1: {AvaTaxCompany: "A",
			StandardRates: map[string]decimal.Decimal{"US": dec("8.25")}}}}, "standard rate"},
		"row without code": {Config{CrossReference: []CrossReference{{ItemClass: "A"}}}, "tax code is required"},
		"valid":            {*testConfig(), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
