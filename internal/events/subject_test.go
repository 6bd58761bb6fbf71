package events_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
)

// TestCheckSubject checks the type and order token of the NATS subject an
// event arrives on against the event, each mismatch naming its field.
func TestCheckSubject(t *testing.T) {
	in := func(typ events.Type, subject string) *events.Inbound {
		return &events.Inbound{Envelope: events.Envelope{Type: typ, Subject: subject}}
	}
	tests := []struct {
		name, natsSubject string
		in                *events.Inbound
		fields            []string // the problems' fields; none when it matches
	}{
		{"matches", "oms.refund_order_taxes.WEB-3", in(events.RefundOrderTaxes, "WEB-3"), nil},
		{"escaped order id", "oms.void_order_taxes.A_2EB_20_C3_A9", in(events.VoidOrderTaxes, "A.B é"), nil},
		{"underscore is escaped", "oms.void_order_taxes.A_5FB", in(events.VoidOrderTaxes, "A_B"), nil},
		{"another type", "oms.void_order_taxes.WEB-3", in(events.RefundOrderTaxes, "WEB-3"), []string{"/type"}},
		{"another order", "oms.refund_order_taxes.WEB-4", in(events.RefundOrderTaxes, "WEB-3"), []string{"/subject"}},
		{"order id not escaped", "oms.void_order_taxes.A_B", in(events.VoidOrderTaxes, "A_B"), []string{"/subject"}},
		{"both", "oms.void_order_taxes.WEB-4", in(events.RefundOrderTaxes, "WEB-3"), []string{"/subject", "/type"}},
		{"a token too many", "oms.void_order_taxes.WEB-3.x", in(events.VoidOrderTaxes, "WEB-3"), []string{"/subject"}},
		{"no order token", "oms.void_order_taxes", in(events.VoidOrderTaxes, "WEB-3"), []string{"/type"}},
		{"another stream", "tax.results.WEB-3", in(events.VoidOrderTaxes, "WEB-3"), []string{"/type"}},
		{"empty", "", in(events.VoidOrderTaxes, "WEB-3"), []string{"/type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := events.CheckSubject(tt.natsSubject, tt.in)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("CheckSubject: %v", err)
				}
				return
			}
			var ie *events.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("CheckSubject: %v, want an *InvalidError", err)
			}
			var got []string
			for _, p := range ie.Problems {
				f, _, _ := strings.Cut(p, ": ")
				got = append(got, f)
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") || ie.Type != tt.in.Type {
				t.Fatalf("CheckSubject: %v\nfields %q, want %q", err, got, tt.fields)
			}
		})
	}
}
