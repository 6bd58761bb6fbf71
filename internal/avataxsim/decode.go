package avataxsim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// The sandbox decodes requests leniently, the way AvaTax does: JSON keys in
// any letter case, numbers and booleans where strings are expected (saleor
// sends customerCode 0), strings where booleans or numbers are expected
// ("commit": "true", "amount": "30.00"), and enum values as names in any case
// or as numbers. A request is first parsed into a generic tree, the tree is
// coerced against the target Go type, and the result is decoded strictly.
// The request types are in requests.go.

// decodeLenient decodes body into v (a pointer to one of the request types).
// It reports whether the body was empty or JSON null.
//
// Most clients send well-typed JSON, which a plain json.Unmarshal decodes
// to the same value as the lenient path at a fraction of the cost, so that
// is tried first. It is only trusted when no object has two keys that fold
// to the same name: there the lenient path prefers the exactly named key,
// while json.Unmarshal takes the last one (and merges repeated objects).
// Anything json.Unmarshal rejects goes the lenient way from a zero value,
// which also gives the lenient path's error messages.
func decodeLenient(body []byte, v any) (empty bool, err *apiError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return true, nil
	}
	if !ambiguousKeys(trimmed) {
		if json.Unmarshal(trimmed, v) == nil {
			return false, nil
		}
		rv := reflect.ValueOf(v).Elem()
		rv.Set(reflect.Zero(rv.Type()))
	}
	return false, decodeCoerced(trimmed, v)
}

// decodeCoerced is the lenient path: body (not empty) is parsed into a
// generic tree, coerced against v's type and decoded strictly.
func decodeCoerced(body []byte, v any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if e := dec.Decode(&tree); e != nil {
		return errJSONFormat(e.Error())
	}
	if dec.More() {
		return errJSONFormat("unexpected data after the JSON value")
	}
	coerced := coerce(tree, reflect.TypeOf(v).Elem())
	b, e := json.Marshal(coerced)
	if e != nil {
		return errJSONFormat(e.Error())
	}
	if e := json.Unmarshal(b, v); e != nil {
		var ute *json.UnmarshalTypeError
		if asUnmarshalTypeError(e, &ute) {
			return errJSONFormat("The value for field '" + ute.Field + "' has the wrong type.")
		}
		return errJSONFormat(e.Error())
	}
	return nil
}

// ambiguousKeys reports whether some object of a JSON text has two keys
// that are equal ignoring case (as bytes.EqualFold, which is how
// encoding/json matches field names), or a key with an escape sequence,
// which would need decoding to compare. It only scans: invalid JSON gives
// some answer and is rejected later by the decoder.
func ambiguousKeys(b []byte) bool {
	// Room for a typical request on the stack.
	var keyBuf [64][]byte
	var startBuf [16]int
	keys := keyBuf[:0]     // keys of the open objects, innermost last
	starts := startBuf[:0] // per open container: where its keys begin in keys, or -1 for an array
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			starts = append(starts, len(keys))
			expectKey = true
		case '[':
			starts = append(starts, -1)
			expectKey = false
		case '}', ']':
			if len(starts) == 0 {
				return false
			}
			if start := starts[len(starts)-1]; start >= 0 {
				keys = keys[:start]
			}
			starts = starts[:len(starts)-1]
			expectKey = false
		case ',':
			expectKey = len(starts) > 0 && starts[len(starts)-1] >= 0
		case '"':
			j := i + 1
			escaped := false
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					escaped = true
					j++
				}
				j++
			}
			if expectKey {
				if escaped {
					return true
				}
				key := b[i+1 : min(j, len(b))]
				for _, k := range keys[starts[len(starts)-1]:] {
					if bytes.EqualFold(k, key) {
						return true
					}
				}
				keys = append(keys, key)
				expectKey = false
			}
			i = j
		}
	}
	return false
}

func asUnmarshalTypeError(err error, target **json.UnmarshalTypeError) bool {
	if u, ok := err.(*json.UnmarshalTypeError); ok {
		*target = u
		return true
	}
	return false
}

var (
	decimalType = reflect.TypeOf(decimal.Decimal{})
	rawType     = reflect.TypeOf(json.RawMessage{})
)

// coerce rewrites a generic JSON tree so that it decodes into t: object keys
// are renamed to the field's JSON name (case-insensitively) and scalars are
// converted to the kind the field expects where that is unambiguous.
// Anything else is left as it is, for the strict decoding to refuse.
func coerce(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil
	}
	switch {
	case t == decimalType:
		return coerceDecimal(v)
	case t == rawType:
		return v
	}
	switch t.Kind() {
	case reflect.String:
		return coerceString(v)
	case reflect.Bool:
		return coerceBool(v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if s, ok := v.(string); ok {
			if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return json.Number(strings.TrimSpace(s))
			}
		}
		return v
	case reflect.Slice:
		return coerceSlice(v, t)
	case reflect.Struct:
		return coerceStruct(v, t)
	}
	return v
}

// coerceDecimal takes an amount as a number, a decimal string (blank: no
// value) or a boolean (1 or 0).
func coerceDecimal(v any) any {
	switch x := v.(type) {
	case json.Number:
		return x
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return nil
		}
		return s
	case bool:
		if x {
			return json.Number("1")
		}
		return json.Number("0")
	}
	return v
}

// coerceString takes a string, or a number or boolean as its text.
func coerceString(v any) any {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return v
}

// coerceBool takes a boolean, a word such as "true", "yes" or "0", or a
// number (non-zero is true).
func coerceBool(v any) any {
	switch x := v.(type) {
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "y":
			return true
		case "false", "0", "no", "n", "":
			return false
		}
	case json.Number:
		f, err := x.Float64()
		if err == nil {
			return f != 0
		}
	}
	return v
}

// coerceSlice coerces each element of a list; a single value where a list
// of strings is expected becomes a list of one.
func coerceSlice(v any, t reflect.Type) any {
	arr, ok := v.([]any)
	if !ok {
		if t.Elem().Kind() == reflect.String {
			return []any{coerce(v, t.Elem())}
		}
		return v
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		out[i] = coerce(e, t.Elem())
	}
	return out
}

// coerceStruct keeps the keys of an object that name a field of t, in any
// letter case (the exact name wins), under the field's JSON name.
func coerceStruct(v any, t reflect.Type) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(obj))
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		val, found := obj[name]
		if !found {
			for k, kv := range obj {
				if strings.EqualFold(k, name) {
					val, found = kv, true
					break
				}
			}
		}
		if found {
			out[name] = coerce(val, f.Type)
		}
	}
	return out
}

// enum canonicalises an enum value given as a name in any case or as its
// number. names maps the canonical name to its number.
type enum struct {
	field string
	names map[string]int
}

func (e enum) parse(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		for name, num := range e.names {
			if num == n {
				return name, true
			}
		}
		return "", false
	}
	for name := range e.names {
		if strings.EqualFold(name, v) {
			return name, true
		}
	}
	return "", false
}

var (
	documentTypes = enum{"type", map[string]int{
		"SalesOrder": 0, "SalesInvoice": 1, "PurchaseOrder": 2, "PurchaseInvoice": 3, "ReturnOrder": 4,
		"ReturnInvoice": 5, "InventoryTransferOrder": 6, "InventoryTransferInvoice": 7, "ReverseChargeOrder": 8,
		"ReverseChargeInvoice": 9, "CustomsInvoice": 10, "CustomsOrder": 11, "InventoryTransferOutboundInvoice": 12,
		"InventoryTransferOutboundOrder": 13, "Any": -1,
	}}
	voidReasons = enum{"code", map[string]int{
		"Unspecified": 0, "PostFailed": 1, "DocDeleted": 2, "DocVoided": 3, "AdjustmentCancelled": 4,
	}}
	refundTypes = enum{"refundType", map[string]int{
		"Full": 0, "Partial": 1, "TaxOnly": 2, "Percentage": 3,
	}}
	adjustmentReasons = enum{"adjustmentReason", map[string]int{
		"NotAdjusted": 0, "SourcingIssue": 1, "ReconciledWithGeneralLedger": 2, "ExemptCertApplied": 3,
		"PriceAdjusted": 4, "ProductReturned": 5, "ProductExchanged": 6, "BadDebt": 7, "Other": 8, "Offline": 9,
	}}
	taxOverrideTypes = enum{"taxOverride.type", map[string]int{
		"None": 0, "TaxAmount": 1, "Exemption": 2, "TaxDate": 3, "AccruedTaxAmount": 4, "DeriveTaxable": 5,
		"OutOfHarbor": 6, "TaxAmountByTaxType": 7, "VendorChargedTax": 8,
	}}
	documentStatuses = enum{"status", map[string]int{
		"Temporary": 0, "Saved": 1, "Posted": 2, "Committed": 3, "Cancelled": 4, "Adjusted": 5, "Queued": 6,
		"PendingApproval": 7, "Uncommitted": 12, "Any": -1,
	}}
	textCases = enum{"textCase", map[string]int{"Default": 0, "Upper": 1, "Mixed": 2}}
)
