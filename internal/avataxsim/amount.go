package avataxsim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Documents are answered with the client's avatax.TransactionModel, whose
// amounts are decimal.Decimal. A rendered document holds hundreds of
// amounts, rates and quantities; written by encoding/json through
// decimal's MarshalJSON they cost about half the time of an answer
// (MarshalJSON formats through math/big and allocates, and encoding/json
// then checks what it returned). So documents are written by
// appendDocument instead: what json.Marshal writes for the shapes of the
// client's response models (structs of strings, integers, booleans,
// pointers, slices and json.RawMessage, with omitempty and omitzero),
// with every amount appended by appendDecimal as a JSON number: the
// digits of decimal.String, which is what decimal's MarshalJSON writes
// once money.EncodeAmountsAsNumbers has set MarshalJSONWithoutQuotes, and
// what AvaTax sends. Anything else it meets it hands to json.Marshal.
// TestAppendDocument checks it against json.Marshal.

// appendDocument appends the JSON of v to dst, as json.Marshal writes it
// with amounts as numbers.
func appendDocument(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, reflect.ValueOf(v))
}

// field is how a struct field is written.
type field struct {
	index     int
	key       string // `"name":`
	omitEmpty bool
	omitZero  bool
}

// structFields caches the fields of each struct type written.
var structFields sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if fs, ok := structFields.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		key, _ := json.Marshal(name)
		f := field{index: i, key: string(key) + ":"}
		for _, o := range strings.Split(opts, ",") {
			f.omitEmpty = f.omitEmpty || o == "omitempty"
			f.omitZero = f.omitZero || o == "omitzero"
		}
		fs = append(fs, f)
	}
	structFields.Store(t, fs)
	return fs
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

func appendValue(dst []byte, v reflect.Value) ([]byte, error) {
	t := v.Type()
	switch {
	case t == decimalType:
		if v.CanAddr() { // no copy to the heap
			return appendDecimal(dst, *v.Addr().Interface().(*decimal.Decimal)), nil
		}
		return appendDecimal(dst, v.Interface().(decimal.Decimal)), nil
	case t == rawType:
		raw := v.Bytes()
		if raw == nil {
			return append(dst, "null"...), nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return dst, err
		}
		return append(dst, buf.Bytes()...), nil
	}
	switch v.Kind() {
	case reflect.String:
		return appendString(dst, v.String())
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		return appendValue(dst, v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			break // []byte is base64: json.Marshal
		}
		dst = append(dst, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, v.Index(i)); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(marshalerType) || t.Implements(marshalerType) {
			break
		}
		dst = append(dst, '{')
		first := true
		for _, f := range fieldsOf(t) {
			fv := v.Field(f.index)
			if (f.omitEmpty && isEmpty(fv)) || (f.omitZero && fv.IsZero()) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.key...)
			var err error
			if dst, err = appendValue(dst, fv); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	b, err := json.Marshal(v.Interface())
	return append(dst, b...), err
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// appendString appends s quoted as encoding/json quotes it: plain
// printable ASCII as it is, anything else through json.Marshal.
func appendString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, err := json.Marshal(s)
			return append(dst, b...), err
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

// appendDecimal appends d.String() to dst. Decimal formats through
// math/big, which made it the largest cost of rendering. The amounts of a
// document have small coefficients and at most 18 decimals, so they are
// formatted here with strconv instead; anything else, or a non-default
// decimal.TrimTrailingZeros, takes d.String(). TestFormatDecimal checks
// that both agree.
func appendDecimal(dst []byte, d decimal.Decimal) []byte {
	exp := int(d.Exponent())
	if exp > 0 || exp < -18 || !decimal.TrimTrailingZeros || d.NumDigits() > 18 {
		return append(dst, d.String()...)
	}
	c := d.CoefficientInt64() // |c| < 10^18: no overflow below
	out := dst
	if c < 0 {
		out = append(out, '-')
		c = -c
	}
	var digitBuf [20]byte
	digits := strconv.AppendInt(digitBuf[:0], c, 10)
	// digits[:point] is the integer part; a negative point means leading
	// zeros after the decimal point.
	point := len(digits) + exp
	frac := max(point, 0)
	end := len(digits)
	for end > frac && digits[end-1] == '0' {
		end--
	}
	if point > 0 {
		out = append(out, digits[:point]...)
	} else {
		out = append(out, '0')
	}
	if end > frac {
		out = append(out, '.')
		for i := point; i < 0; i++ {
			out = append(out, '0')
		}
		out = append(out, digits[frac:end]...)
	}
	return out
}
