package fastjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

type inner struct {
	Amount decimal.Decimal `json:"amount"`
	At     time.Time       `json:"at"`
}

type sample struct {
	Name    string            `json:"name"`
	Tags    []string          `json:"tags"`
	Opt     []string          `json:"opt,omitempty"`
	Zero    inner             `json:"zero,omitzero"`
	Ptr     *inner            `json:"ptr,omitempty"`
	Inner   inner             `json:"inner"`
	Raw     json.RawMessage   `json:"raw"`
	Map     map[string]int    `json:"map"`
	Any     any               `json:"any"`
	Headers map[string]string `json:"headers,omitempty"`
}

// TestWritesWhatEncodingJSONWrites compares the bytes of both for values
// where encoding/json has habits of its own.
func TestWritesWhatEncodingJSONWrites(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 30, 0, 120000000, time.FixedZone("x", 3600))
	for name, v := range map[string]any{
		"zero":         sample{},
		"full":         sample{Name: "<a & b>\u2028", Tags: []string{}, Opt: []string{"x"}, Ptr: &inner{}, Inner: inner{decimal.RequireFromString("-12.50"), at}, Raw: json.RawMessage(` {"a" : [1, 2]} `), Map: map[string]int{"b": 2, "a": 1}, Any: []any{1.5, "s", nil}},
		"invalid utf8": sample{Name: "a\xffb"},
		"nil map":      map[string]any(nil),
		"slice of ptr": []*inner{nil, {}},
	} {
		t.Run(name, func(t *testing.T) {
			want, werr := json.Marshal(v)
			got, gerr := Marshal(v)
			if werr != nil || gerr != nil {
				t.Fatalf("encoding/json: %v, fastjson: %v", werr, gerr)
			}
			if name == "invalid utf8" {
				// U+FFFD as itself rather than escaped: the same string.
				var w, g any
				_ = json.Unmarshal(want, &w)
				_ = json.Unmarshal(got, &g)
				if !reflect.DeepEqual(w, g) {
					t.Errorf("encoding/json: %s\nfastjson:      %s", want, got)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding/json: %s\nfastjson:      %s", want, got)
			}
		})
	}
}

// TestReadsWhatEncodingJSONReads compares decoded values for inputs
// encoding/json is lenient with.
func TestReadsWhatEncodingJSONReads(t *testing.T) {
	for name, in := range map[string]string{
		"plain":            `{"name":"n","tags":["a"],"inner":{"amount":"12.5","at":"2026-11-21T09:30:00Z"},"raw":{"x":1},"map":{"a":1},"any":{"k":[1,"2",null]}}`,
		"case-insensitive": `{"NAME":"n","Inner":{"Amount":3}}`,
		"duplicate names":  `{"name":"first","name":"second"}`,
		"invalid utf8":     "{\"name\":\"a\xffb\"}",
		"nulls":            `{"name":null,"tags":null,"ptr":null,"inner":{"amount":null},"raw":null}`,
		"unknown field":    `{"other":{"deep":[1,2]},"name":"n"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var want, got sample
			werr := json.Unmarshal([]byte(in), &want)
			gerr := Unmarshal([]byte(in), &got)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("errors differ: encoding/json %v, fastjson %v", werr, gerr)
			}
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(got)
			if !bytes.Equal(wb, gb) || !reflect.DeepEqual(want.Tags, got.Tags) {
				t.Errorf("encoding/json read %s\nfastjson read      %s", wb, gb)
			}
		})
	}
	for _, bad := range []string{`{"name":1}`, `{"tags":"x"}`, `{`, `{"inner":{"amount":"abc"}}`} {
		var v sample
		if err := Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
