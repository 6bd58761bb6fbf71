package avataxsim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// The contract test: every request field the sandbox reads and every
// response field it writes exists, with that name and JSON type, in the
// AvaTax API definition (testdata/avatax-v2-swagger-2021.json, AvaTax REST v2
// as published in 2021).
// Fields AvaTax sends that the 2021 definition lacks or types differently
// are listed in wireExceptions, each with the recordings as the reason.

type swaggerDef struct {
	Properties map[string]swaggerProp `json:"properties"`
}

type swaggerProp struct {
	Type  string       `json:"type"`
	Ref   string       `json:"$ref"`
	Items *swaggerProp `json:"items"`
}

func loadSwagger(t *testing.T) map[string]swaggerDef {
	t.Helper()
	path := os.Getenv("AVATAX_SWAGGER")
	if path == "" {
		path = filepath.Join("testdata", "avatax-v2-swagger-2021.json")
	}
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Definitions map[string]swaggerDef `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Definitions
}

func refName(ref string) string { return strings.TrimPrefix(ref, "#/definitions/") }

// jsonKind is the swagger type a value or Go type should have.
func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == decimalType:
		return "number"
	case t == rawType:
		return "any"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.Kind().String()
}

func propKind(p swaggerProp) string {
	if p.Ref != "" {
		return "object"
	}
	if p.Type == "" {
		return "object"
	}
	return p.Type
}

func kindsCompatible(got, want string) bool {
	return got == want || got == "any" || (got == "integer" && want == "number") || (got == "number" && want == "integer")
}

func TestContractRequestModels(t *testing.T) {
	defs := loadSwagger(t)
	tests := []struct {
		v    any
		defs []string // a field may come from any of these
	}{
		{createReq{}, []string{"CreateTransactionModel"}},
		{lineReq{}, []string{"LineItemModel"}},
		{addressesReq{}, []string{"AddressesModel"}},
		{avatax.AddressLocationInfo{}, []string{"AddressLocationInfo"}},
		{avatax.AddressValidationInfo{}, []string{"AddressValidationInfo"}},
		{avatax.TaxOverrideModel{}, []string{"TaxOverrideModel"}},
		{createOrAdjustReq{}, []string{"CreateOrAdjustTransactionModel"}},
		{adjustReq{}, []string{"AdjustTransactionModel"}},
		{commitReq{}, []string{"CommitTransactionModel"}},
		{avatax.VoidTransactionModel{}, []string{"VoidTransactionModel"}},
		{avatax.RefundTransactionModel{}, []string{"RefundTransactionModel"}},
		{lockReq{}, []string{"LockTransactionModel"}},
		{changeCodeReq{}, []string{"ChangeTransactionCodeModel"}},
		{verifyReq{}, []string{"VerifyTransactionModel"}},
		{settleReq{}, []string{"SettleTransactionModel"}},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.v)
		t.Run(typ.Name(), func(t *testing.T) {
			for i := 0; i < typ.NumField(); i++ {
				f := typ.Field(i)
				name := strings.Split(f.Tag.Get("json"), ",")[0]
				var prop *swaggerProp
				for _, dn := range tt.defs {
					def, ok := defs[dn]
					if !ok {
						t.Fatalf("no definition %s", dn)
					}
					if p, ok := def.Properties[name]; ok {
						prop = &p
						break
					}
				}
				if prop == nil {
					t.Errorf("%s.%s: not in %v", typ.Name(), name, tt.defs)
					continue
				}
				if got, want := goKind(f.Type), propKind(*prop); !kindsCompatible(got, want) {
					t.Errorf("%s.%s: %s, definition says %s", typ.Name(), name, got, want)
				}
			}
		})
	}
}

// wireExceptions are fields AvaTax sends that the 2021 definition lacks or
// types differently, as the recordings show.
var wireExceptions = map[string]string{
	"TransactionModel.parameters":             "recordings (2017–2019) show an object {}",
	"TransactionModel.apStatusCode":           "2024 recordings (AP fields, newer than the definition)",
	"TransactionModel.apStatus":               "2024 recordings",
	"TransactionModel.shippingTaxes":          "2022–2024 recordings",
	"TransactionModel.history":                "2017 recordings of GET and list",
	"TransactionLineModel.parameters":         "recordings: {} for US lines (2017–2019), a list for VAT lines",
	"TransactionAddressModel.taxRegionIdAv":   "2019–2026 recordings",
	"TransactionLineDetailModel.chargedTo":    "2021–2026 recordings",
	"TransactionLineDetailModel.avtUserBIN":   "2024 recordings",
	"TransactionLineDetailModel.exemptRuleId": "2024–2026 recordings",
	"TransactionLineDetailModel.vatCode":      "2024 recordings",
	"AddressInfo.textCase":                    "the echo of AddressValidationInfo (JS SDK fixture)",
}

// checkWire walks a JSON value against a definition.
func checkWire(t *testing.T, defs map[string]swaggerDef, path, defName string, v any, seen map[string]bool) {
	t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	def, ok := defs[defName]
	if !ok {
		t.Errorf("%s: no definition %s", path, defName)
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := obj[k]
		id := defName + "." + k
		seen[id] = true
		prop, ok := def.Properties[k]
		if !ok {
			if _, ok := wireExceptions[id]; !ok {
				t.Errorf("%s.%s: not in %s", path, k, defName)
			}
			continue
		}
		if val == nil {
			continue
		}
		got := valueKind(val)
		if want := propKind(prop); !kindsCompatible(got, want) {
			if _, ok := wireExceptions[id]; !ok {
				t.Errorf("%s.%s: %s, %s says %s", path, k, got, defName, want)
			}
			continue
		}
		switch x := val.(type) {
		case map[string]any:
			if prop.Ref != "" {
				checkWire(t, defs, path+"."+k, refName(prop.Ref), x, seen)
			}
		case []any:
			if prop.Items != nil && prop.Items.Ref != "" {
				for i, e := range x {
					if i > 2 {
						break
					}
					checkWire(t, defs, path+"."+k+"[]", refName(prop.Items.Ref), e, seen)
				}
			}
		}
	}
}

func valueKind(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

func TestContractResponses(t *testing.T) {
	defs := loadSwagger(t)
	e := newEnv(t)
	seen := map[string]bool{}

	// A rich document: several lines, an exemption, an override, a
	// cross-border VAT document, a refund, an adjustment and a list.
	req := invoice("W1", "SalesInvoice", true, "60601", "10", "20", "30")
	lines := req["lines"].([]map[string]any)
	lines[1]["entityUseCode"] = "G"
	lines[2]["taxOverride"] = map[string]any{"type": "TaxAmount", "taxAmount": 1, "reason": "r"}
	e.call("POST", "/api/v2/transactions/create", req)
	e.call("POST", "/api/v2/transactions/createoradjust", map[string]any{"adjustmentReason": "PriceAdjusted", "createTransactionModel": req})
	vat := map[string]any{"type": "SalesOrder", "customerCode": "c", "date": "2024-01-01",
		"addresses": map[string]any{"shipFrom": map[string]any{"country": "IT"}, "shipTo": map[string]any{"country": "FR"}},
		"lines":     []any{map[string]any{"amount": 10}}}

	calls := []struct {
		method, path string
		body         any
		def          string
	}{
		{"GET", "/api/v2/companies/DEFAULT/transactions/W1", nil, "TransactionModel"},
		{"POST", "/api/v2/transactions/create", vat, "TransactionModel"},
		{"POST", "/api/v2/companies/DEFAULT/transactions/W1/refund", map[string]any{"refundDate": "2024-04-01", "refundType": "Partial", "refundLines": []string{"1"}}, "TransactionModel"},
		{"GET", "/api/v2/companies/DEFAULT/transactions", nil, "TransactionModelFetchResult"},
		{"GET", "/api/v2/utilities/ping", nil, "PingResultModel"},
		{"GET", "/api/v2/addresses/resolve?line1=1%20Main%20St&city=Seattle&region=WA&postalCode=98101&country=US", nil, "AddressResolutionModel"},
		{"GET", "/api/v2/addresses/resolve?line1=1%20Main%20St&city=X&region=WA&postalCode=98999&country=US", nil, "AddressResolutionModel"},
		{"GET", "/api/v2/taxrates/bypostalcode?country=US&postalCode=98101", nil, "TaxRateModel"},
		{"GET", "/api/v2/definitions/taxcodes", nil, "TaxCodeModelFetchResult"},
		{"GET", "/api/v2/utilities/subscriptions", nil, "SubscriptionModelFetchResult"},
		{"GET", "/api/v2/companies/DEFAULT/transactions/NOPE", nil, "error"},
	}
	for _, c := range calls {
		r := e.call(c.method, c.path, c.body)
		v := decodeNumbers(t, r.body)
		if c.def == "error" {
			m := v.(map[string]any)["error"].(map[string]any)
			for _, d := range m["details"].([]any) {
				checkWire(t, defs, "error.details[]", "ErrorDetail", d, seen)
			}
			continue
		}
		if r.status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
		checkWire(t, defs, c.path, c.def, v, seen)
	}
	for _, must := range []string{"TransactionModel.lines", "TransactionLineModel.details", "TransactionLineDetailModel.rate",
		"TransactionModel.summary", "TransactionModel.addresses", "TransactionModel.locationTypes", "AddressResolutionModel.validatedAddresses"} {
		if !seen[must] {
			t.Errorf("the walk never reached %s", must)
		}
	}
}
