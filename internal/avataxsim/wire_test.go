package avataxsim

import (
	"reflect"
	"strings"
	"testing"
)

// TestWireFieldOrder checks that the wire structs declare their fields in
// the byte order of their JSON names, the order in which the answers were
// written when they were rendered through maps. The golden test only sees
// the fields its documents have; this covers the optional ones too.
func TestWireFieldOrder(t *testing.T) {
	for _, v := range []any{
		transactionWire{}, lineWire{}, detailWire{}, summaryWire{}, addressWire{}, locationTypeWire{},
		lineLocationTypeWire{}, messageWire{}, storedMessageWire{}, invoiceMessageWire{}, nameValue{},
	} {
		typ := reflect.TypeOf(v)
		prev := ""
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name == "" {
				t.Errorf("%s.%s has no JSON name", typ.Name(), typ.Field(i).Name)
				continue
			}
			if i > 0 && name <= prev {
				t.Errorf("%s: %q comes after %q", typ.Name(), name, prev)
			}
			prev = name
		}
	}
}
