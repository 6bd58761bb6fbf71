// Package subjectbus_test holds events.CheckSubject to internal/bus, whose
// subjects it checks but which it cannot import (bus imports events). It
// lives apart so that the events tests and fuzzing do not build bus and
// the nats-server it embeds.
package subjectbus_test

import (
	"testing"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
)

// TestCheckSubjectAgreesWithBus checks that every subject bus.EventSubject
// makes for an event passes CheckSubject, and that the subject of another
// order or type does not.
func TestCheckSubjectAgreesWithBus(t *testing.T) {
	ids := []string{"WEB-3", "A.B", "A_B", "a b", "*", ">", "ÉTÉ-1", "x\x00y", "~!@#$%^&()+={}[]|\\:;\"'<>,?/`", "0123456789-abcXYZ"}
	for c := range 256 {
		ids = append(ids, "id"+string(rune(c)), "id"+string([]byte{byte(c)}))
	}
	for _, id := range ids {
		for _, typ := range events.InboundTypes {
			in := &events.Inbound{Envelope: events.Envelope{Type: typ, Subject: id}}
			if err := events.CheckSubject(bus.EventSubject(typ, id), in); err != nil {
				t.Fatalf("%q as %s: %v", id, typ, err)
			}
			if err := events.CheckSubject(bus.EventSubject(typ, id+"x"), in); err == nil {
				t.Fatalf("%q as %s: the subject of order %q passes", id, typ, id+"x")
			}
			other := events.RefreshOrderTaxes
			if typ == other {
				other = events.VoidOrderTaxes
			}
			if err := events.CheckSubject(bus.EventSubject(other, id), in); err == nil {
				t.Fatalf("%q as %s: the subject of a %s passes", id, typ, other)
			}
		}
	}
}
