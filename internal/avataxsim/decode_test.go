package avataxsim

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecodeFastPath checks that decodeLenient, which tries a plain
// json.Unmarshal first, decodes every body to what the lenient path alone
// gives, errors included.
func TestDecodeFastPath(t *testing.T) {
	wellTyped, err := json.Marshal(coa(usDoc("FAST-1", "SalesInvoice", true)))
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{
		string(wellTyped),
		`{"createTransactionModel": {"code": "A", "Code": "B", "lines": [{"amount": 1}]}}`, // exact key wins
		`{"createTransactionModel": {"CODE": "A", "lines": [{"Amount": "2.50 "}]}}`,        // folded key, padded amount
		`{"createTransactionModel": {"addresses": {"shipTo": {"city": "A", "region": "WA"}},` + // repeated object
			` "addresses": {"shipTo": {"city": "B"}}}}`,
		`{"createTransactionModel": {"lines": [{"number": 1, "quantity": "2", "taxIncluded": "false"}]}}`,
		`{"createTransactionModel": {"co\u0064e": "escaped", "lines": []}, "adjustmentReason": 4}`,
		`{"createTransactionModel": {"discount": "", "commit": 1, "exchangeRate": true}}`,
		`{"createTransactionModel": {"type": ["SalesInvoice"]}}`,
		`{"createTransactionModel": {"lines": [{"amount": "abc"}]}}`,
		`{"createTransactionModel": {"lines": {"amount": 1}}}`,
		`{"createTransactionModel": {}} {"trailing": true}`,
		`{"createTransactionModel": {"lines": [`,
		`[1, 2]`,
		`"text"`,
	}
	for _, body := range bodies {
		var fast, lenient createOrAdjustReq
		_, fastErr := decodeLenient([]byte(body), &fast)
		lenientErr := decodeCoerced([]byte(body), &lenient)
		if !reflect.DeepEqual(fastErr, lenientErr) {
			t.Errorf("%s:\nerror %+v\nwant  %+v", body, fastErr, lenientErr)
			continue
		}
		got, _ := json.Marshal(fast)
		want, _ := json.Marshal(lenient)
		if string(got) != string(want) {
			t.Errorf("%s:\ndecoded %s\nwant    %s", body, got, want)
		}
	}
	for _, body := range []string{`{"commit": true}`, `{"commit": "yes"}`, `{"Commit": 0}`} {
		var fast, lenient commitReq
		_, fastErr := decodeLenient([]byte(body), &fast)
		lenientErr := decodeCoerced([]byte(body), &lenient)
		if fastErr != nil || lenientErr != nil || *fast.Commit != *lenient.Commit {
			t.Errorf("%s: %v %v, want %v %v", body, fast.Commit, fastErr, lenient.Commit, lenientErr)
		}
	}
}

func TestAmbiguousKeys(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}`: false,
		`{"a": "a", "b": ["a", "A"]}`:                        false,
		`{"a": 1, "A": 2}`:                                   true,
		`{"x": {"code": 1, "b": 2, "Code": 3}}`:              true,
		`{"x": [{"k": 1}, {"k": 2, "k": 3}]}`:                true,
		`{"a\"b": 1}`:                                        true,
		`{"a": "x\"y", "b": 2}`:                              false,
		`{"a": {}, "b": []}`:                                 false,
		`{"a": [`:                                            false,
	} {
		if got := ambiguousKeys([]byte(body)); got != want {
			t.Errorf("ambiguousKeys(%s) = %v, want %v", body, got, want)
		}
	}
}

func TestLenientInput(t *testing.T) {
	e := newEnv(t)
	body := `{"Type": 1, "CODE": "L1", "companyCode": null, "date": "2024-03-01", "customerCode": 0, "commit": "true",
	  "discount": null,
	  "addresses": {"ShipFrom": {"Line1": "1 Main St", "postalCode": "98101", "country": "USA"},
	                "ShipTo": {"line1": "2 Park", "postalCode": "92614-8201", "region": "ca", "country": "us"}},
	  "lines": [{"number": 1, "quantity": "2", "amount": "30.00", "taxIncluded": "false"}]}`
	r := e.call("POST", "/api/v2/transactions/create", body)
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	tm := r.tx(t)
	if tm.Type != "SalesInvoice" || tm.Status != "Committed" || tm.CustomerCode != "0" || tm.Lines[0].LineNumber != "1" {
		t.Errorf("decoded %s %s %q %q", tm.Type, tm.Status, tm.CustomerCode, tm.Lines[0].LineNumber)
	}
	wantDec(t, "tax", tm.TotalTax, "2.33") // 30 × 7.75% = 2.325 → 2.33

	if r := e.call("POST", "/api/v2/transactions/create", `{"lines": [`); r.status != 400 || r.err(t).Code != "ModelStateInvalid" {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/transactions/createoradjust", ``); r.status != 400 || r.err(t).Code != "ModelRequiredException" {
		t.Errorf("empty body: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/transactions/createoradjust", `{}`); r.status != 400 || r.err(t).Code != "ValueRequiredError" {
		t.Errorf("no model: %d %s", r.status, r.body)
	}
	noLines := invoice("L2", "SalesInvoice", false, "92614")
	noLines["lines"] = []any{}
	if r := e.call("POST", "/api/v2/transactions/create", noLines); r.status != 400 || r.err(t).Code != "MissingLine" {
		t.Errorf("no lines: %d %s", r.status, r.body)
	}
	// Case-insensitive paths, as on Avalara's servers.
	if r := e.call("GET", "/API/V2/Companies/DEFAULT/Transactions/L1", nil); r.status != 200 {
		t.Errorf("mixed-case path: %d", r.status)
	}
}
