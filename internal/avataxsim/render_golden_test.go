package avataxsim

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The golden test pins what clients see from the transaction endpoints:
// every response body of a fixed sequence of calls must stay byte for byte
// as recorded in testdata/render. The sandbox runs on a fixed clock and
// every request names its document code, so ids and dates are
// deterministic and nothing needs masking. Regenerate after an intended
// change with
//
//	go test ./internal/avataxsim -run TestRenderGolden -update

var updateGolden = flag.Bool("update", false, "rewrite the golden files of TestRenderGolden")

// goldenClock is the fixed time of the golden sandbox.
var goldenClock = time.Date(2024, 3, 5, 10, 30, 0, 0, time.UTC)

// goldenStep is one call of the golden sequence.
type goldenStep struct {
	name   string
	method string
	path   string
	body   any // marshalled as JSON; nil sends no body
}

// addr is an address of a create request.
func addr(line1, city, region, country, postal string) map[string]any {
	return map[string]any{"line1": line1, "city": city, "region": region, "country": country, "postalCode": postal}
}

var (
	seattle  = addr("1 Main St", "Seattle", "WA", "US", "98101")
	irvine   = addr("100 Spectrum Center Dr", "Irvine", "CA", "US", "92614")
	chicago  = addr("233 S Wacker Dr", "Chicago", "IL", "US", "60601")
	toronto  = addr("290 Bremner Blvd", "Toronto", "ON", "CA", "M5V 3L9")
	vancouve = addr("999 Canada Pl", "Vancouver", "BC", "CA", "V6C 3T4")
	berlin   = addr("Unter den Linden 1", "Berlin", "", "DE", "10117")
	paris    = addr("1 Rue de Rivoli", "Paris", "", "FR", "75001")
	london   = addr("10 Downing St", "London", "", "GB", "SW1A 2AA")
)

// usDoc is a 3-line US document: two products and a shipping line.
func usDoc(code, docType string, commit bool) map[string]any {
	return map[string]any{
		"type": docType, "code": code, "companyCode": "DEFAULT", "date": "2024-03-01", "customerCode": "CUST-1",
		"commit": commit, "currencyCode": "USD", "purchaseOrderNo": "PO-" + code, "description": "web order",
		"addresses": map[string]any{"shipFrom": seattle, "shipTo": irvine},
		"lines": []map[string]any{
			{"number": "1", "quantity": 2, "amount": "59.98", "taxCode": "P0000000", "itemCode": "SKU-1", "description": "Widget"},
			{"number": "2", "quantity": 1, "amount": "120.5", "taxCode": "PC040100", "itemCode": "SKU-2", "description": "Shirt"},
			{"number": "shipping", "quantity": 1, "amount": "9.99", "taxCode": "FR020100", "itemCode": "Shipping"},
		},
	}
}

func coa(doc map[string]any) map[string]any {
	return map[string]any{"createTransactionModel": doc}
}

func docURL(code, action, query string) string {
	u := "/api/v2/companies/DEFAULT/transactions/" + code + action
	if query != "" {
		u += "?" + query
	}
	return u
}

// goldenSteps is the golden call sequence.
func goldenSteps() []goldenStep {
	const coaPath = "/api/v2/transactions/createoradjust"
	var steps []goldenStep
	add := func(name, method, path string, body any) {
		steps = append(steps, goldenStep{name: name, method: method, path: path, body: body})
	}

	// createoradjust with every $include variant.
	for _, inc := range []string{"", "Lines", "LinesOnly", "Summary", "SummaryOnly", "Addresses", "Details", "Summary,Addresses", "lines,addresses"} {
		name := "coa-include-" + strings.NewReplacer(",", "+").Replace(strings.ToLower(inc))
		if inc == "" {
			name = "coa-include-none"
		}
		path := coaPath
		if inc != "" {
			path += "?$include=" + inc
		}
		add(name, "POST", path, coa(usDoc("INC-"+strings.NewReplacer(",", "-").Replace(inc), "SalesInvoice", false)))
	}

	// A document tax override (TaxAmount) and a line TaxDate override.
	ov := usDoc("OVR-1", "SalesInvoice", false)
	ov["taxOverride"] = map[string]any{"type": "TaxAmount", "taxAmount": "12.34", "reason": "precalculated"}
	ov["lines"].([]map[string]any)[1]["taxOverride"] = map[string]any{"type": "TaxDate", "taxDate": "2023-12-31", "reason": "late"}
	add("coa-tax-override", "POST", coaPath, coa(ov))

	// A document TaxDate override, tax-included line, discount, exemption.
	td := usDoc("OVR-2", "SalesInvoice", true)
	td["taxOverride"] = map[string]any{"type": "TaxDate", "taxDate": "2024-01-15", "reason": "return of old goods"}
	td["discount"] = "10"
	ls := td["lines"].([]map[string]any)
	ls[0]["discounted"] = true
	ls[1]["taxIncluded"] = true
	ls[2]["entityUseCode"] = "A"
	td["addresses"] = map[string]any{"shipFrom": chicago, "shipTo": chicago}
	add("coa-taxdate-override", "POST", coaPath, coa(td))

	// A return invoice with negative amounts and a line tax override.
	ret := usDoc("RET-1", "ReturnInvoice", true)
	rls := ret["lines"].([]map[string]any)
	rls[0]["amount"], rls[1]["amount"], rls[2]["amount"] = "-59.98", "-120.5", "-9.99"
	rls[0]["taxOverride"] = map[string]any{"type": "TaxAmount", "taxAmount": "-4.50", "reason": "refund"}
	ret["taxOverride"] = map[string]any{"type": "TaxDate", "taxDate": "2024-02-01", "reason": "refund"}
	add("coa-return-invoice", "POST", coaPath, coa(ret))

	// Canada: HST province, and GST + PST with a line address.
	ca := usDoc("CA-1", "SalesInvoice", false)
	ca["currencyCode"] = "CAD"
	ca["addresses"] = map[string]any{"shipFrom": toronto, "shipTo": toronto}
	ca["lines"].([]map[string]any)[2]["addresses"] = map[string]any{"shipTo": vancouve}
	add("coa-canada", "POST", coaPath, coa(ca))

	// VAT: a cross-border EU supply, a domestic UK one, singleLocation.
	eu := usDoc("VAT-1", "SalesInvoice", false)
	eu["currencyCode"] = "EUR"
	eu["businessIdentificationNo"] = "DE123456789"
	eu["isSellerImporterOfRecord"] = true
	eu["customerSupplierName"] = "Acme GmbH"
	eu["exchangeRateCurrencyCode"] = "USD"
	eu["exchangeRate"] = "1.0875"
	eu["addresses"] = map[string]any{"shipFrom": berlin, "shipTo": paris}
	add("coa-vat-crossborder", "POST", coaPath, coa(eu))
	uk := usDoc("VAT-2", "SalesInvoice", false)
	uk["currencyCode"] = "GBP"
	uk["addresses"] = map[string]any{"singleLocation": london}
	add("coa-vat-domestic", "POST", coaPath+"?$include=Summary,Addresses", coa(uk))

	// create (not createoradjust): a temporary order and a stored invoice.
	add("create-order", "POST", "/api/v2/transactions/create", usDoc("ORD-1", "SalesOrder", false))
	add("create-invoice", "POST", "/api/v2/transactions/create?$include=Lines", usDoc("DOC-1", "SalesInvoice", false))

	// Adjust through createoradjust, then the lifecycle of DOC-1.
	adj := usDoc("DOC-1", "SalesInvoice", false)
	adj["lines"] = adj["lines"].([]map[string]any)[:2]
	add("coa-adjust", "POST", coaPath, map[string]any{"adjustmentReason": "PriceAdjusted", "adjustmentDescription": "dropped shipping", "createTransactionModel": adj})
	add("get", "GET", docURL("DOC-1", "", ""), nil)
	add("get-include-lines", "GET", docURL("DOC-1", "", "$include=Lines"), nil)
	add("get-type", "GET", docURL("DOC-1", "/types/SalesInvoice", "$include=SummaryOnly"), nil)
	add("commit", "POST", docURL("DOC-1", "/commit", ""), map[string]any{"commit": true})
	add("commit-include-lines", "POST", docURL("OVR-1", "/commit", "$include=Lines"), map[string]any{"commit": true})
	add("get-by-id", "GET", "/api/v2/transactions/80000000279", nil)
	add("refund-full", "POST", docURL("DOC-1", "/refund", ""), map[string]any{
		"refundTransactionCode": "DOC-1-R1", "refundDate": "2024-03-04", "refundType": "Full", "referenceCode": "DOC-1"})
	add("refund-partial", "POST", docURL("OVR-2", "/refund", "$include=Lines"), map[string]any{
		"refundTransactionCode": "OVR-2-R1", "refundDate": "2024-03-04", "refundType": "Partial", "refundLines": []string{"2"}, "refundPercentage": "50"})
	add("void-committed", "POST", docURL("DOC-1", "/void", ""), map[string]any{"code": "DocVoided"})
	add("void-deleted", "POST", docURL("INC-Lines", "/void", ""), map[string]any{"code": "DocDeleted"})
	add("void-include-summary", "POST", docURL("CA-1", "/void", "$include=Summary"), map[string]any{"code": "DocVoided"})
	add("get-voided", "GET", docURL("DOC-1", "", "$include=Lines"), nil)
	add("list", "GET", "/api/v2/companies/DEFAULT/transactions?$filter=status eq Committed&$top=3", nil)
	add("list-include", "GET", "/api/v2/companies/DEFAULT/transactions?$include=Lines&$filter=code eq 'VAT-1'", nil)
	add("list-orderby", "GET", "/api/v2/companies/DEFAULT/transactions?$orderBy=totalTax desc&$skip=2&$top=4", nil)
	add("ping", "GET", "/api/v2/utilities/ping", nil)
	add("not-found", "GET", docURL("NOPE", "", ""), nil)
	return steps
}

// serve runs one request through the sandbox in-process.
func serve(tb testing.TB, sb *Sandbox, method, path string, body any) *httptest.ResponseRecorder {
	tb.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			tb.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, strings.ReplaceAll(path, " ", "%20"), bytes.NewReader(raw))
	req.SetBasicAuth(DefaultAccountID, DefaultLicenseKey)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	sb.ServeHTTP(w, req)
	return w
}

func TestRenderGolden(t *testing.T) {
	sb := New(WithClock(func() time.Time { return goldenClock }))
	dir := filepath.Join("testdata", "render")
	if *updateGolden {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, st := range goldenSteps() {
		// Steps share one sandbox, so they run in order and a failure
		// does not stop the later ones.
		w := serve(t, sb, st.method, st.path, st.body)
		got := fmt.Appendf(nil, "%s %s\n%d\n%s\n", st.method, st.path, w.Code, w.Body.Bytes())
		file := filepath.Join(dir, fmt.Sprintf("%02d-%s.golden", i, st.name))
		if *updateGolden {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v (run with -update to record)", st.name, err)
			continue
		}
		if bytes.Equal(got, want) {
			continue
		}
		// Report the semantic differences first: they matter most.
		wantHead, wantBody, _ := cutGolden(want)
		gotHead, gotBody, _ := cutGolden(got)
		if wantHead != gotHead {
			t.Errorf("%s: request/status %q, want %q", st.name, gotHead, wantHead)
			continue
		}
		if diffs := jsonDiff(t, wantBody, gotBody); len(diffs) > 0 {
			sort.Strings(diffs)
			if len(diffs) > 20 {
				diffs = append(diffs[:20], fmt.Sprintf("... %d more", len(diffs)-20))
			}
			t.Errorf("%s: response differs:\n  %s", st.name, strings.Join(diffs, "\n  "))
			continue
		}
		t.Errorf("%s: same JSON value but different bytes:\n got %s\nwant %s", st.name, gotBody, wantBody)
	}
}

// cutGolden splits a golden record into its request and status lines and
// its body.
func cutGolden(b []byte) (head string, body []byte, ok bool) {
	first, rest, ok1 := bytes.Cut(b, []byte("\n"))
	status, body, ok2 := bytes.Cut(rest, []byte("\n"))
	return string(first) + " " + string(status), bytes.TrimSuffix(body, []byte("\n")), ok1 && ok2
}

// jsonDiff decodes two JSON documents with UseNumber, so that 1.0 and 1
// differ, and lists the paths where they differ.
func jsonDiff(t *testing.T, want, got []byte) []string {
	t.Helper()
	decode := func(b []byte) any {
		if len(b) == 0 {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		return v
	}
	var out []string
	diffValues("$", decode(want), decode(got), &out)
	return out
}

func diffValues(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: got %T, want object", path, got))
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			diffValues(path+"."+k, wv, gv, out)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: unexpected", path, k))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, got, want))
			return
		}
		for i := range w {
			diffValues(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	default:
		if !reflect.DeepEqual(want, got) || reflect.TypeOf(want) != reflect.TypeOf(got) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, got, want))
		}
	}
}

// TestRenderGoldenCoverage keeps the golden sequence meaningful: every
// step must succeed except the deliberate 404.
func TestRenderGoldenCoverage(t *testing.T) {
	sb := New(WithClock(func() time.Time { return goldenClock }))
	for _, st := range goldenSteps() {
		w := serve(t, sb, st.method, st.path, st.body)
		want := []int{http.StatusOK, http.StatusCreated}
		if st.name == "not-found" {
			want = []int{http.StatusNotFound}
		}
		if w.Code != want[0] && (len(want) == 1 || w.Code != want[1]) {
			t.Errorf("%s: status %d: %s", st.name, w.Code, w.Body.Bytes())
		}
	}
}
