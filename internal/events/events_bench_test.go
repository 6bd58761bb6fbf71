package events_test

import (
	"encoding/json"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
)

// benchEvents is one event of every inbound type, as the OMS publishes them
// in the returned flow (the longest OneStock flow).
func benchEvents(b *testing.B) map[events.Type][]byte {
	b.Helper()
	out := map[events.Type][]byte{}
	for _, e := range scenario.Returned("BENCH-1").Events {
		raw, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		out[e.Type] = raw
	}
	// The returned flow has no void: take it from the cancelled flow.
	for _, e := range scenario.Cancelled("BENCH-2").Events {
		if _, ok := out[e.Type]; !ok {
			raw, err := json.Marshal(e)
			if err != nil {
				b.Fatal(err)
			}
			out[e.Type] = raw
		}
	}
	return out
}

// BenchmarkValidate is the worker's first step on every delivery: parse,
// validate against the type's JSON Schema, decode envelope and data.
func BenchmarkValidate(b *testing.B) {
	v, err := events.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	all := benchEvents(b)
	for _, t := range events.InboundTypes {
		raw := all[t]
		b.Run(string(t), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := v.Inbound(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode is the typed decode of envelope and data alone, the part
// of Inbound that follows schema validation.
func BenchmarkDecode(b *testing.B) {
	raw := benchEvents(b)[events.RefundOrderTaxes]
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var in events.Inbound
		if err := json.Unmarshal(raw, &in); err != nil {
			b.Fatal(err)
		}
	}
}
