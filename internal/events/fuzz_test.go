package events_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
)

// FuzzInbound holds Validator.Inbound to its promises on any bytes. The
// seed corpus (testdata/fuzz/FuzzInbound) is the events of the OneStock
// flows (internal/scenario), one of every type with every optional member,
// and the refusals and findings worth keeping:
//   - it never panics, and every refusal is an *InvalidError whose first
//     problem names a field (the worker publishes it as the tax_error's
//     field);
//   - the fast path never vouches for an event the schema refuses, and
//     decodes what it vouches for as the schema path does;
//   - an accepted event, encoded again, is accepted again and decodes to
//     the same event (compared by encoding: 12.50 and 12.5 are one price).
func FuzzInbound(f *testing.F) {
	v, err := events.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if fast, ok := v.QuickInbound(raw); ok {
			slow, err := v.SchemaInbound(raw)
			if err != nil {
				t.Fatalf("the fast path vouched for an event the schema refuses: %v", err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("the paths decode differently:\nfast %+v\nslow %+v", fast, slow)
			}
		}
		in, err := v.Inbound(raw)
		if err != nil {
			var ie *events.InvalidError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 || !strings.HasPrefix(ie.Problems[0], "/") {
				t.Fatalf("refused without naming a field: %v", err)
			}
			return
		}
		again, err := fastjson.Marshal(in)
		if err != nil {
			t.Fatalf("encode the accepted event: %v", err)
		}
		in2, err := v.Inbound(again)
		if err != nil {
			t.Fatalf("the accepted event, encoded again, is refused: %v\n%s", err, again)
		}
		twice, err := fastjson.Marshal(in2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, twice) {
			t.Fatalf("the accepted event changes when encoded again:\n%s\n%s", again, twice)
		}
	})
}
