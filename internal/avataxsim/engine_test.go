package avataxsim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestTaxMath(t *testing.T) {
	tests := []struct {
		name      string
		postal    string
		amount    string
		included  bool
		taxCode   string
		wantTax   string
		wantTaxab string
		wantLine  string
		wantRows  int
	}{
		{"Irvine 7.75%", "92614", "100", false, "", "7.75", "100", "100", 5},
		{"Seattle 10.25%", "98101", "100", false, "P0000000", "10.25", "100", "100", 4},
		{"New York 8.875%", "10118", "100", false, "", "8.88", "100", "100", 4},
		{"Austin 8.25%", "78701", "100", false, "", "8.25", "100", "100", 4},
		{"Chicago 10.25%", "60601", "100", false, "", "10.25", "100", "100", 4},
		{"Portland no sales tax", "97201", "100", false, "", "0", "100", "100", 0},
		{"ZIP+4 accepted", "92614-8201", "100", false, "", "7.75", "100", "100", 5},
		// 90 × 0.0025 = 0.225 → 0.23 (half away from zero); CA rows: 5.40 + 0.23 + 0 + 0.90 + 0.45.
		{"half away from zero", "92614", "90", false, "", "6.98", "90", "90", 5},
		// Per-detail rounding: 10.01 × (0.04, 0, 0.045, 0.00375) = 0.40 + 0.45 + 0.04 = 0.89.
		{"per detail rounding", "10118", "10.01", false, "", "0.89", "10.01", "10.01", 4},
		{"non-taxable", "92614", "100", false, "NT", "0", "0", "100", 5},
		{"freight taxable", "92614", "10", false, "FR020100", "0.78", "10", "10", 5},
		// 107.75 / 1.0775 = 100 → tax 7.75.
		{"tax included", "92614", "107.75", true, "", "7.75", "100", "100", 5},
		// 10 / 1.1025 = 9.0703 → 9.07, tax 0.93.
		{"tax included rounding", "98101", "10", true, "", "0.93", "9.07", "9.07", 4},
		{"negative amounts round symmetrically", "92614", "-90", false, "", "-6.98", "-90", "-90", 5},
		{"Canada Ontario HST", "M5V 3L9", "100", false, "", "13", "100", "100", 1},
		{"Canada Quebec GST+QST", "H9W 5E1", "100", false, "", "14.98", "100", "100", 2},
		{"Canada BC GST+PST", "V6B1A1", "100", false, "", "12", "100", "100", 2},
		{"Canada Alberta GST only", "T2P 1J9", "100", false, "", "5", "100", "100", 1},
		{"Canada Nova Scotia HST", "B3H 1A1", "100", false, "", "14", "100", "100", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			req := invoice("M1", "SalesOrder", false, tt.postal, tt.amount)
			line := req["lines"].([]map[string]any)[0]
			line["taxIncluded"] = tt.included
			line["taxCode"] = tt.taxCode
			if strings.ContainsAny(tt.postal, "MHVTB") {
				req["addresses"].(map[string]any)["shipTo"].(map[string]any)["country"] = "CA"
			}
			r := e.call("POST", "/api/v2/transactions/create", req)
			if r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			tm := r.tx(t)
			l := tm.Lines[0]
			wantDec(t, "line tax", l.Tax, tt.wantTax)
			wantDec(t, "taxable", l.TaxableAmount, tt.wantTaxab)
			wantDec(t, "lineAmount", l.LineAmount, tt.wantLine)
			wantDec(t, "totalTax", tm.TotalTax, tt.wantTax)
			wantDec(t, "totalTaxCalculated", tm.TotalTaxCalculated, tt.wantTax)
			if len(l.Details) != tt.wantRows {
				t.Fatalf("details %d, want %d", len(l.Details), tt.wantRows)
			}
			sum := dec("0")
			for _, d := range l.Details {
				if !d.Tax.Equal(d.Tax.Round(2)) {
					t.Errorf("detail %s tax %s not rounded", d.JurisName, d.Tax)
				}
				sum = sum.Add(d.Tax)
			}
			wantDec(t, "Σ details", sum, tt.wantTax)
			sumSummary := dec("0")
			for _, s := range tm.Summary {
				sumSummary = sumSummary.Add(s.Tax)
			}
			wantDec(t, "Σ summary", sumSummary, tt.wantTax)
			if tt.included && !l.TaxIncluded {
				t.Error("taxIncluded not echoed")
			}
		})
	}
}

func TestHalfAwayFromZeroDetail(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/api/v2/transactions/create", invoice("H1", "SalesOrder", false, "92614", "90"))
	tm := r.tx(t)
	for _, d := range tm.Lines[0].Details {
		if d.JurisName == "ORANGE" {
			wantDec(t, "Orange county 90 × 0.0025", d.Tax, "0.23")
		}
	}
}

func TestTotalsAreSumsOfLines(t *testing.T) {
	e := newEnv(t)
	// Help-centre example at 9%: line-level rounding gives 3.67 + 0.18 + 1.35.
	r := e.call("POST", "/api/v2/transactions/create", invoice("TL", "SalesOrder", false, "60601", "40.80", "1.98", "14.99"))
	tm := r.tx(t)
	sum := dec("0")
	for _, l := range tm.Lines {
		sum = sum.Add(l.Tax)
	}
	wantDec(t, "totalTax", tm.TotalTax, sum.String())
	wantDec(t, "totalAmount", tm.TotalAmount, "57.77")
	if len(tm.Summary) != 4 {
		t.Errorf("summary rows %d", len(tm.Summary))
	}
	for _, s := range tm.Summary {
		if s.JurisType != "State" && s.JurisType != "County" && s.JurisType != "City" && s.JurisType != "Special" {
			t.Errorf("summary jurisType %q", s.JurisType)
		}
		wantDec(t, "summary taxable "+s.JurisName, s.Taxable, "57.77")
	}
}

func TestSourcing(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		addr     map[string]any
		lineAddr map[string]any
		wantTax  string
		wantSrc  string
	}{
		{"destination", map[string]any{
			"shipFrom": map[string]any{"postalCode": "98101", "country": "US"},
			"shipTo":   map[string]any{"postalCode": "60601", "country": "US"}}, nil, "10.25", "Destination"},
		{"singleLocation", map[string]any{
			"singleLocation": map[string]any{"postalCode": "92614", "country": "US"}}, nil, "7.75", "Destination"},
		{"line addresses override", map[string]any{
			"shipFrom": map[string]any{"postalCode": "98101", "country": "US"},
			"shipTo":   map[string]any{"postalCode": "60601", "country": "US"}},
			map[string]any{"shipTo": map[string]any{"postalCode": "97201", "country": "US"}}, "0", "Destination"},
		{"coordinates win over the street address", map[string]any{
			"singleLocation": map[string]any{"line1": "somewhere", "latitude": 47.6062, "longitude": -122.3321, "country": "US"}}, nil, "10.25", "Destination"},
		{"origin-based intrastate (TX)", map[string]any{
			"shipFrom": map[string]any{"postalCode": "78701", "country": "US"},
			"shipTo":   map[string]any{"postalCode": "77002", "country": "US"}}, nil, "8.25", "Origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := map[string]any{"amount": 100}
			if tt.lineAddr != nil {
				line["addresses"] = tt.lineAddr
			}
			req := map[string]any{"type": "SalesOrder", "customerCode": "c", "date": "2024-01-01", "addresses": tt.addr, "lines": []any{line}}
			r := e.call("POST", "/api/v2/transactions/create", req)
			if r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			tm := r.tx(t)
			wantDec(t, "tax", tm.TotalTax, tt.wantTax)
			if tm.Lines[0].Sourcing != tt.wantSrc {
				t.Errorf("sourcing %s", tm.Lines[0].Sourcing)
			}
		})
	}
}

func TestAddressErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name        string
		shipTo      map[string]any
		wantCode    string
		wantSub     string
		wantMessage string
	}{
		{"unknown city without postal code", map[string]any{"line1": "1 X St", "city": "Nowhere", "region": "WA", "country": "US"},
			"GetTaxError", "JurisdictionNotFoundError", "Unable to determine the taxing jurisdictions."},
		{"zip of an unassigned prefix", map[string]any{"line1": "1 X St", "city": "Nowhere", "region": "MD", "postalCode": "21301", "country": "US"},
			"GetTaxError", "InvalidZipForStateError", "Tax calculation cannot be determined. Zip is not valid for the state."},
		{"zip not in state", map[string]any{"line1": "1 X St", "region": "PA", "postalCode": "00000", "country": "US"},
			"GetTaxError", "InvalidZipForStateError", "Tax calculation cannot be determined. Zip is not valid for the state."},
		{"unknown state", map[string]any{"line1": "1 X St", "city": "Y", "region": "STATE_ABBR_6", "postalCode": "35005", "country": "US"},
			"GetTaxError", "", "Invalid or missing state/province code (STA)."},
		{"incomplete", map[string]any{"line1": "1 X St", "country": "US"},
			"InvalidAddress", "", "The address value was incomplete."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := invoice("E1", "SalesOrder", false, "x")
			req["addresses"].(map[string]any)["shipTo"] = tt.shipTo
			r := e.call("POST", "/api/v2/transactions/create", req)
			if r.status != 400 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			er := r.err(t)
			if er.Code != tt.wantCode || er.Message != tt.wantMessage || er.Details[0].FaultSubCode != tt.wantSub {
				t.Errorf("error = %+v", er)
			}
			if tt.wantCode == "GetTaxError" && er.Details[0].RefersTo != "Addresses[1]" {
				t.Errorf("refersTo %q", er.Details[0].RefersTo)
			}
		})
	}
}

func TestExemptionAndOverride(t *testing.T) {
	e := newEnv(t)
	req := invoice("X1", "SalesOrder", false, "92614")
	req["exemptionNo"] = "EX-1"
	tm := e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "exempt tax", tm.TotalTax, "0")
	wantDec(t, "totalExempt", tm.TotalExempt, "100")

	req = invoice("X2", "SalesOrder", false, "92614")
	req["entityUseCode"] = "A"
	tm = e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "entity use tax", tm.TotalTax, "0")

	req = invoice("X3", "SalesOrder", false, "92614")
	req["lines"].([]map[string]any)[0]["taxOverride"] = map[string]any{"type": "TaxAmount", "taxAmount": "5", "reason": "test"}
	tm = e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "override tax", tm.TotalTax, "5")
	wantDec(t, "calculated", tm.TotalTaxCalculated, "7.75")
	if tm.Lines[0].TaxOverrideType != avatax.OverrideTaxAmount {
		t.Errorf("override type %s", tm.Lines[0].TaxOverrideType)
	}
}

func TestJurisdictionCoverage(t *testing.T) {
	states := map[string]bool{}
	var noTax, origin bool
	for _, p := range usPlaces {
		if len(p.Rows) > 0 {
			states[p.Region] = true
		}
		if usRegions[p.Region].NoSalesTax {
			noTax = true
			if len(p.Rows) != 0 {
				t.Errorf("%s (%s) has rows but the state has no sales tax", p.Postal, p.Region)
			}
		}
		if usRegions[p.Region].Origin && len(p.Rows) > 0 {
			origin = true
		}
		for _, r := range p.Rows {
			if r.Region != p.Region || r.Rate.IsNegative() {
				t.Errorf("%s: bad row %+v", p.Postal, r)
			}
		}
	}
	if len(states) < 10 || !noTax || !origin {
		t.Errorf("%d taxing states, no-tax %v, origin-based %v", len(states), noTax, origin)
	}
	for _, prov := range []string{"AB", "BC", "MB", "NB", "NL", "NS", "ON", "PE", "QC", "SK"} {
		if _, ok := caProvinces[prov]; !ok {
			t.Errorf("no province %s", prov)
		}
	}
}

func TestClothingAndTaxCodes(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, postal, taxCode, amount, wantTax string
	}{
		{"NY clothing under $110 is exempt", "10118", "PC040100", "100", "0"},
		{"NY clothing over $110 is taxed", "10118", "PC040100", "200", "17.75"},
		{"PA clothing is exempt", "19147", "PC040100", "100", "0"},
		{"MN clothing is exempt", "55401", "PC040206", "100", "0"},
		{"MA clothing up to $175 is exempt", "02108", "PC040100", "150", "0"},
		{"CA clothing is taxed", "92614", "PC040100", "100", "7.75"},
		{"NT is not taxed", "92614", "NT", "100", "0"},
		{"freight taxed like goods in CA", "92614", "FR020100", "100", "7.75"},
		{"empty tax code is P0000000", "60601", "", "100", "10.25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := invoice("TC", "SalesOrder", false, tt.postal, tt.amount)
			req["lines"].([]map[string]any)[0]["taxCode"] = tt.taxCode
			r := e.call("POST", "/api/v2/transactions/create", req)
			if r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			tm := r.tx(t)
			wantDec(t, "tax", tm.TotalTax, tt.wantTax)
			if tt.wantTax == "0" && tm.Lines[0].IsItemTaxable {
				t.Error("isItemTaxable true on a non-taxed line")
			}
		})
	}
}

func TestTaxOverrides(t *testing.T) {
	e := newEnv(t)
	// Document TaxAmount: spread over lines by their calculated tax.
	req := invoice("OV1", "SalesOrder", false, "60601", "100", "300")
	req["taxOverride"] = map[string]any{"type": "TaxAmount", "taxAmount": 20, "reason": "precomputed"}
	tm := e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "totalTax", tm.TotalTax, "20")
	wantDec(t, "totalTaxCalculated", tm.TotalTaxCalculated, "41")
	wantDec(t, "line 1", tm.Lines[0].Tax, "5")
	wantDec(t, "line 2", tm.Lines[1].Tax, "15")
	if tm.TaxOverrideType != "TaxAmount" || tm.TaxOverrideReason != "precomputed" {
		t.Errorf("header override %s %q", tm.TaxOverrideType, tm.TaxOverrideReason)
	}
	// TaxDate: the tax date changes, the document date stays.
	req = invoice("OV2", "SalesOrder", false, "60601")
	req["taxOverride"] = map[string]any{"type": "taxDate", "taxDate": "2023-12-31", "reason": "Return"}
	tm = e.call("POST", "/api/v2/transactions/create", req).tx(t)
	if tm.Date != "2024-03-01" || tm.Lines[0].TaxDate != "2023-12-31" || !strings.HasPrefix(tm.TaxDate, "2023-12-31") {
		t.Errorf("dates %s %s %s", tm.Date, tm.TaxDate, tm.Lines[0].TaxDate)
	}
	// Exemption override exempts.
	req = invoice("OV3", "SalesOrder", false, "60601")
	req["lines"].([]map[string]any)[0]["taxOverride"] = map[string]any{"type": 2, "reason": "resale"}
	tm = e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "exempt tax", tm.TotalTax, "0")
	wantDec(t, "exempt amount", tm.TotalExempt, "100")
	// Line entityUseCode.
	req = invoice("OV4", "SalesOrder", false, "60601")
	req["lines"].([]map[string]any)[0]["entityUseCode"] = "G"
	tm = e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "entity use tax", tm.TotalTax, "0")
	if tm.Lines[0].EntityUseCode != "G" {
		t.Errorf("entityUseCode %q", tm.Lines[0].EntityUseCode)
	}
}

func TestDiscount(t *testing.T) {
	e := newEnv(t)
	req := invoice("D1", "SalesOrder", false, "60601", "100", "300")
	req["discount"] = "40"
	lines := req["lines"].([]map[string]any)
	lines[0]["discounted"] = true
	lines[1]["discounted"] = true
	tm := e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "totalDiscount", tm.TotalDiscount, "40")
	wantDec(t, "totalTaxable", tm.TotalTaxable, "360")
	wantDec(t, "totalAmount", tm.TotalAmount, "400")
	// Per-detail rounding: 90 → 5.63+1.58+1.13+0.90, 270 → 16.88+4.73+3.38+2.70.
	wantDec(t, "totalTax", tm.TotalTax, "36.93")

	// The rounding rest goes to the last discounted line.
	req = invoice("D2", "SalesOrder", false, "97201", "100", "100", "100")
	req["discount"] = 10
	for _, l := range req["lines"].([]map[string]any) {
		l["discounted"] = true
	}
	tm = e.call("POST", "/api/v2/transactions/create", req).tx(t)
	wantDec(t, "line 1 discount", tm.Lines[0].DiscountAmount, "3.33")
	wantDec(t, "line 3 discount", tm.Lines[2].DiscountAmount, "3.34")
	wantDec(t, "line 3 taxable", tm.Lines[2].TaxableAmount, "96.66")
	wantDec(t, "totalDiscount", tm.TotalDiscount, "10")
}

func TestVAT(t *testing.T) {
	e := newEnv(t)
	mk := func(from, to string) avatax.TransactionModel {
		req := map[string]any{"type": "SalesOrder", "customerCode": "c", "date": "2024-01-01",
			"addresses": map[string]any{"shipFrom": map[string]any{"country": from, "postalCode": "1"}, "shipTo": map[string]any{"country": to, "city": "X"}},
			"lines":     []any{map[string]any{"amount": "123", "taxIncluded": true}}}
		r := e.call("POST", "/api/v2/transactions/create", req)
		if r.status != 201 {
			t.Fatalf("%s→%s: %d %s", from, to, r.status, r.body)
		}
		return r.tx(t)
	}
	dom := mk("PL", "PL")
	wantDec(t, "domestic VAT", dom.TotalTax, "23")
	wantDec(t, "net", dom.TotalAmount, "100")
	eu := mk("IT", "FR")
	wantDec(t, "intra-EU", eu.TotalTax, "0")
	if eu.Lines[0].Details[0].RateType != "Zero" || eu.Lines[0].Details[0].Country != "IT" {
		t.Errorf("intra-EU detail %+v", eu.Lines[0].Details[0])
	}
}
