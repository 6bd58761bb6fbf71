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
