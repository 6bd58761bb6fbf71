package avataxsim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fetchResult struct {
	Count    int                       `json:"@recordsetCount"`
	Value    []avatax.TransactionModel `json:"value"`
	NextLink string                    `json:"@nextLink"`
}

func TestListTransactions(t *testing.T) {
	clk := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, Options{Now: clk.now})
	mk := func(code string, commit bool, date string) {
		req := invoice(code, "SalesInvoice", commit, "98101")
		req["date"] = date
		if r := e.call("POST", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": req}); r.status >= 300 {
			t.Fatalf("create %s: %d %s", code, r.status, r.body)
		}
	}
	mk("A", false, "2024-02-01")
	mk("B", true, "2024-02-10")
	mk("C", false, "2024-02-20")
	mk("A", true, "2024-02-01") // adjusts A: its first version is Adjusted
	e.call("POST", "/api/v2/transactions/create", invoice("O", "SalesOrder", false, "98101"))

	list := func(query string) fetchResult {
		t.Helper()
		r := e.call("GET", "/api/v2/companies/DEFAULT/transactions"+query, nil)
		if r.status != 200 {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		var fr fetchResult
		mustJSON(t, r.body, &fr)
		return fr
	}
	codes := func(fr fetchResult) string {
		var out []string
		for _, v := range fr.Value {
			out = append(out, v.Code+":"+v.Status)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		query     string
		wantCount int
		want      string
		wantNext  bool
	}{
		{"", 4, "A:Adjusted,B:Committed,C:Saved,A:Committed", false},
		{"?$filter=" + url.QueryEscape("status eq Saved"), 1, "C:Saved", false},
		{"?$filter=" + url.QueryEscape("status eq Committed and date ge '2024-02-05'"), 1, "B:Committed", false},
		{"?$filter=" + url.QueryEscape("status ne Adjusted") + "&$orderBy=" + url.QueryEscape("code desc"), 3, "C:Saved,B:Committed,A:Committed", false},
		{"?$top=2", 4, "A:Adjusted,B:Committed", true},
		{"?$top=2&$skip=2", 4, "C:Saved,A:Committed", false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			fr := list(tt.query)
			if fr.Count != tt.wantCount || codes(fr) != tt.want || (fr.NextLink != "") != tt.wantNext {
				t.Errorf("got %d %q next %q", fr.Count, codes(fr), fr.NextLink)
			}
		})
	}
	// @nextLink leads to the next page.
	fr := list("?$top=3")
	r := e.call("GET", fr.NextLink, nil)
	var next fetchResult
	mustJSON(t, r.body, &next)
	if codes(next) != "A:Committed" {
		t.Errorf("next page %q", codes(next))
	}
	// Without a date criterion only the last 30 days are listed.
	clk.add(40 * 24 * time.Hour)
	if fr := list(""); fr.Count != 0 {
		t.Errorf("after 40 days: %d documents", fr.Count)
	}
	if fr := list("?$filter=" + url.QueryEscape("date ge '2024-01-01'")); fr.Count != 4 {
		t.Errorf("with a date filter: %d documents", fr.Count)
	}
	if r := e.call("GET", "/api/v2/companies/DEFAULT/transactions?$filter="+url.QueryEscape("status eq"), nil); r.status != 400 {
		t.Errorf("bad filter: %d", r.status)
	}
}

func TestUncommitAndUnvoid(t *testing.T) {
	e := newEnv(t, Options{})
	e.call("POST", "/api/v2/transactions/create", invoice("U1", "SalesInvoice", true, "98101"))
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/uncommit", nil)
	if r.status != 200 || r.tx(t).Status != "Saved" {
		t.Fatalf("uncommit: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/uncommit", nil); r.status != 400 || r.err(t).Code != "DocumentNotCommitted" {
		t.Errorf("uncommit Saved: %d %s", r.status, r.body)
	}
	// Saved again, so create may overwrite it now.
	if r := e.call("POST", "/api/v2/transactions/create", invoice("U1", "SalesInvoice", true, "98101", "5")); r.status != 201 {
		t.Errorf("create over uncommitted: %d", r.status)
	}
	e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/void", map[string]any{"code": "DocVoided"})
	r = e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/unvoid", nil)
	if r.status != 200 || r.tx(t).Status != "Committed" {
		t.Errorf("unvoid: %d %s", r.status, r.body)
	}
	if c := e.sb.Calls(); c["uncommit"] != 2 || c["unvoid"] != 1 {
		t.Errorf("calls %v", c)
	}
}

func TestAdjust(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(e *env)
		body       any
		wantStatus int
		wantErr    string
	}{
		{"adjusts", nil, map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "SalesInvoice", true, "98101", "50")}, 200, ""},
		{"numeric reason", nil, map[string]any{"adjustmentReason": 4, "newTransaction": invoice("J1", "SalesInvoice", true, "98101", "50")}, 200, ""},
		{"empty reason", nil, map[string]any{"adjustmentReason": "", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "ModelStateInvalid"},
		{"Other needs a description", nil, map[string]any{"adjustmentReason": "Other", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "ValidationException"},
		{"no new transaction", nil, map[string]any{"adjustmentReason": "PriceAdjusted"}, 400, "ValidationException"},
		{"type is immutable", nil, map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "ReturnInvoice", true, "98101")}, 400, "CannotAdjustDocumentType"},
		{"cancelled", func(e *env) {
			e.call("POST", "/api/v2/companies/DEFAULT/transactions/J1/void", map[string]any{"code": "DocVoided"})
		}, map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "InvalidDocumentStatus"},
		{"locked", func(e *env) { e.sb.Lock("DEFAULT", "J1", "", true) },
			map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "CannotModifyLockedTransaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			v1 := e.call("POST", "/api/v2/transactions/create", invoice("J1", "SalesInvoice", true, "98101")).tx(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/J1/adjust", tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tt.wantErr != "" {
				if er := r.err(t); er.Code != tt.wantErr {
					t.Errorf("error %s", er.Code)
				}
				return
			}
			v2 := r.tx(t)
			if v2.Version != 2 || v2.ID == v1.ID || v2.AdjustmentReason != "PriceAdjusted" || v2.Status != "Committed" {
				t.Errorf("v2 = %d v%d %s %s", v2.ID, v2.Version, v2.AdjustmentReason, v2.Status)
			}
			wantDec(t, "adjusted amount", v2.TotalAmount, "50")
			// GET answers the current version, with the history.
			g := e.call("GET", "/api/v2/companies/DEFAULT/transactions/J1", nil)
			var m map[string]any
			mustJSON(t, g.body, &m)
			if h, _ := m["history"].([]any); len(h) != 2 {
				t.Errorf("history has %d versions", len(h))
			}
			// By id, the old version is Adjusted.
			old := e.call("GET", fmt.Sprintf("/api/v2/transactions/%d", v1.ID), nil)
			if old.status != 200 || old.tx(t).Status != "Adjusted" {
				t.Errorf("old version: %d %s", old.status, old.body)
			}
		})
	}
}

func TestLockedDocumentRefusesChanges(t *testing.T) {
	e := newEnv(t, Options{})
	e.call("POST", "/api/v2/transactions/create", invoice("K1", "SalesInvoice", false, "98101"))
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/lock", map[string]any{"isLocked": true}); r.status != 400 || r.err(t).Code != "DocumentNotCommitted" {
		t.Fatalf("lock Saved: %d %s", r.status, r.body)
	}
	e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/commit", map[string]any{"commit": true})
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/lock", map[string]any{"isLocked": true})
	if r.status != 200 || !r.tx(t).Locked {
		t.Fatalf("lock: %d %s", r.status, r.body)
	}
	calls := []struct {
		name, path string
		body       any
	}{
		{"void", "/api/v2/companies/DEFAULT/transactions/K1/void", map[string]any{"code": "DocVoided"}},
		{"uncommit", "/api/v2/companies/DEFAULT/transactions/K1/uncommit", nil},
		{"commit", "/api/v2/companies/DEFAULT/transactions/K1/commit", map[string]any{"commit": true}},
		{"adjust", "/api/v2/companies/DEFAULT/transactions/K1/adjust", map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("K1", "SalesInvoice", true, "98101")}},
		{"createoradjust", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": invoice("K1", "SalesInvoice", true, "98101")}},
		{"create", "/api/v2/transactions/create", invoice("K1", "SalesInvoice", true, "98101")},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("POST", c.path, c.body)
			if r.status != 400 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			er := r.err(t)
			if er.Code != "CannotModifyLockedTransaction" || er.Details[0].Number != 1100 || er.Message != "Modifying a locked document is not allowed." {
				t.Errorf("error = %+v", er)
			}
		})
	}
	// A refund is how a locked document is corrected.
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/refund", map[string]any{"refundDate": "2024-05-01", "refundTransactionCode": "K1-R"}); r.status != 201 {
		t.Errorf("refund of a locked document: %d %s", r.status, r.body)
	}
	e.sb.Lock("DEFAULT", "K1", "SalesInvoice", false)
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/void", map[string]any{"code": "DocVoided"}); r.status != 200 {
		t.Errorf("void after unlock: %d", r.status)
	}
}

func TestInclude(t *testing.T) {
	e := newEnv(t, Options{})
	e.call("POST", "/api/v2/transactions/create", invoice("N1", "SalesInvoice", true, "98101", "10", "20"))
	tests := []struct {
		path                               string
		lines, details, summary, addresses bool
	}{
		{"/api/v2/companies/DEFAULT/transactions/N1", true, true, true, true},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=Lines", true, false, false, false},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=Details", true, true, false, false},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=Summary,Addresses", true, true, true, true},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=SummaryOnly", false, false, true, false},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=linesonly,addresses", true, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.call("GET", tt.path, nil)
			var m map[string]any
			mustJSON(t, r.body, &m)
			lines, _ := m["lines"].([]any)
			if (len(lines) > 0) != tt.lines {
				t.Errorf("lines %d", len(lines))
			}
			hasDetails := false
			for _, l := range lines {
				if ds, _ := l.(map[string]any)["details"].([]any); len(ds) > 0 {
					hasDetails = true
				}
			}
			if hasDetails != tt.details {
				t.Errorf("details %v", hasDetails)
			}
			if s, _ := m["summary"].([]any); (len(s) > 0) != tt.summary {
				t.Errorf("summary %d", len(s))
			}
			if a, _ := m["addresses"].([]any); (len(a) > 0) != tt.addresses {
				t.Errorf("addresses %d", len(a))
			}
		})
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
	e := newEnv(t, Options{})
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
	e := newEnv(t, Options{})
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
	e := newEnv(t, Options{})
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
	e := newEnv(t, Options{})
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

func TestVerifyChangeCodeSettle(t *testing.T) {
	e := newEnv(t, Options{})
	e.call("POST", "/api/v2/transactions/create", invoice("S1", "SalesInvoice", false, "60601"))
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S1/verify", map[string]any{"verifyTransactionDate": "2024-03-01", "verifyTotalAmount": 100, "verifyTotalTax": "9.99"}); r.status != 400 || r.err(t).Code != "TotalTaxMismatch" {
		t.Errorf("verify wrong tax: %d %s", r.status, r.body)
	}
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S1/verify", map[string]any{"verifyTransactionDate": "2024-03-01", "verifyTotalAmount": 100, "verifyTotalTax": "10.25"})
	if r.status != 200 || r.tx(t).Status != "Posted" {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v2/companies/DEFAULT/transactions/S1/changecode", map[string]any{"newCode": "S2"})
	if r.status != 200 || r.tx(t).Code != "S2" {
		t.Fatalf("changecode: %d %s", r.status, r.body)
	}
	if _, ok := e.sb.Document("DEFAULT", "S1", ""); ok {
		t.Error("old code still there")
	}
	r = e.call("POST", "/api/v2/companies/DEFAULT/transactions/S2/settle", map[string]any{"changeCode": map[string]any{"newCode": "S3"}, "commit": map[string]any{"commit": true}})
	if r.status != 200 || r.tx(t).Status != "Committed" || r.tx(t).Code != "S3" {
		t.Fatalf("settle: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S3/settle", map[string]any{"commit": map[string]any{"commit": true}}); r.status != 400 || r.err(t).Details[0].FaultSubCode != "DocStatusError" {
		t.Errorf("settle committed: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S3/changecode", map[string]any{"newCode": "S4"}); r.status != 400 || r.err(t).Code != "TransactionIsCommitted" {
		t.Errorf("changecode committed: %d %s", r.status, r.body)
	}
}

func TestTaxRatesAndTaxCodes(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.call("GET", "/api/v2/taxrates/bypostalcode?country=US&postalCode=60601", nil)
	var tr avatax.TaxRateModel
	mustJSON(t, r.body, &tr)
	if r.status != 200 || !tr.TotalRate.Equal(dec("0.1025")) || len(tr.Rates) != 4 || tr.Rates[0].Type != "State" {
		t.Errorf("bypostalcode: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/v2/taxrates/byaddress?line1=1%20Main&city=Seattle&region=WA&postalCode=98101&country=US", nil)
	mustJSON(t, r.body, &tr)
	if r.status != 200 || !tr.TotalRate.Equal(dec("0.1025")) {
		t.Errorf("byaddress: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v2/taxrates/bypostalcode?country=US", nil); r.status != 400 {
		t.Errorf("missing postal code: %d", r.status)
	}
	r = e.call("GET", "/api/v2/definitions/taxcodes?$filter="+url.QueryEscape("(taxCode contains 'clothing' OR description contains 'clothing') AND isActive eq true")+"&$orderBy=taxCode%20ASC&$top=2", nil)
	var fr struct {
		Count int              `json:"@recordsetCount"`
		Value []map[string]any `json:"value"`
		Next  string           `json:"@nextLink"`
	}
	mustJSON(t, r.body, &fr)
	if fr.Count != 4 || len(fr.Value) != 2 || fr.Value[0]["taxCode"] != "PC040000" || fr.Next == "" {
		b, _ := json.Marshal(fr)
		t.Errorf("taxcodes: %s", b)
	}
}
