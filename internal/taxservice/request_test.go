package taxservice

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func readExample(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/invoice.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeRequestAcceptsTheExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/invoice.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestType != Invoice || r.InvoiceNumber != 555 || len(r.Lines) != 2 {
		t.Fatalf("decoded %+v", r)
	}
	if got := r.Lines[0].ExtendedPrice.String(); got != "49.98" {
		t.Errorf("extended price %s, want 49.98", got)
	}
	if got := r.Lines[1].TaxAmount.String(); got != "1.11" {
		t.Errorf("tax amount %s, want 1.11", got)
	}
}

// TestDecodeRequestNamesTheField: every refusal names the offending field
// as a JSON pointer, and none panics.
func TestDecodeRequestNamesTheField(t *testing.T) {
	tests := map[string]struct {
		edit  func(m map[string]any)
		field string
	}{
		"unknown request type":   {func(m map[string]any) { m["request_type"] = "REFUND" }, "/request_type"},
		"missing company":        {func(m map[string]any) { delete(m, "company") }, "/company"},
		"company too large":      {func(m map[string]any) { m["company"] = 1000 }, "/company"},
		"bad stage":              {func(m map[string]any) { m["stage"] = "shipping" }, "/stage"},
		"invoice not at billing": {func(m map[string]any) { m["stage"] = "pick_slip" }, "/stage"},
		"invoice without number": {func(m map[string]any) { delete(m, "invoice_number") }, "/invoice_number"},
		"credit without number":  {func(m map[string]any) { m["request_type"] = "CREDIT" }, "/credit_number"},
		"bad date":               {func(m map[string]any) { m["date"] = "2026-13-40" }, "/date"},
		"negative price": {func(m map[string]any) {
			m["lines"].([]any)[0].(map[string]any)["extended_price"] = -1
		}, "/lines/0/extended_price"},
		"price as float text": {func(m map[string]any) {
			m["lines"].([]any)[1].(map[string]any)["extended_price"] = "1e3"
		}, "/lines/1/extended_price"},
		"override without amount": {func(m map[string]any) {
			delete(m["lines"].([]any)[1].(map[string]any), "tax_amount")
		}, "/lines/1/tax_amount"},
		"freight override without amount": {func(m map[string]any) { m["freight_tax_override"] = true }, "/freight_tax_amount"},
		"no lines":                        {func(m map[string]any) { m["lines"] = []any{} }, "/lines"},
		"unknown member":                  {func(m map[string]any) { m["colour"] = "red" }, "/colour"},
		"ship-to without country": {func(m map[string]any) {
			delete(m["ship_to"].(map[string]any), "country")
		}, "/ship_to/country"},
		"duplicate line number": {func(m map[string]any) {
			m["lines"].([]any)[1].(map[string]any)["line_number"] = 1
		}, "/lines/1/line_number"},
		"expiry without tax id": {func(m map[string]any) {
			m["customer"].(map[string]any)["exemption_expiry_date"] = "2027-01-01"
		}, "/customer/exemption_tax_id"},
		"quantity zero": {func(m map[string]any) {
			m["lines"].([]any)[0].(map[string]any)["quantity"] = 0
		}, "/lines/0/quantity"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := readExample(t)
			tc.edit(m)
			raw, _ := json.Marshal(m)
			_, err := DecodeRequest(raw)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want an *Error", err)
			}
			if e.Code != CodeInvalidRequest || e.Field != tc.field {
				t.Fatalf("code %q field %q (%v), want invalid_request naming %q", e.Code, e.Field, e, tc.field)
			}
		})
	}
}

func TestDecodeRequestRefusesWhatIsNotJSON(t *testing.T) {
	for _, raw := range []string{"", "{", "[]", "null", `{"company": 1e99999999}`, strings.Repeat("[", 10000)} {
		if _, err := DecodeRequest([]byte(raw)); err == nil {
			t.Errorf("%.20q accepted", raw)
		}
	}
}
