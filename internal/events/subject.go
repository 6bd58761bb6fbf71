package events

import (
	"fmt"
	"strings"
)

// subjectPrefix starts the NATS subject of every inbound OMS event:
// oms.<type>.<order token>, and plexSubjectPrefix that of the Plex
// poller's events. They are bus.EventsPrefix and bus.PlexPrefix, which
// this package cannot import (bus imports events);
// TestCheckSubjectAgreesWithBus in internal/events/subjectbus keeps them
// in step.
const (
	subjectPrefix     = "oms."
	plexSubjectPrefix = "plex."
)

// CheckSubject checks an event that Validator.Inbound accepted against the
// NATS subject it arrived on, which the validator never sees: the
// subject's type must be the event's type, and its order token the
// event's subject (the order id) escaped as bus.Token escapes it. A
// mismatch is an *InvalidError naming /type or /subject, so that the
// event is dead-lettered as invalid like any other.
func CheckSubject(natsSubject string, in *Inbound) error {
	prefix := subjectPrefix
	if in.Type.IsPlex() {
		prefix = plexSubjectPrefix
	}
	rest, ok := strings.CutPrefix(natsSubject, prefix)
	typ, order, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return &InvalidError{Type: in.Type, Problems: []string{
			fmt.Sprintf("/type: NATS subject %q is not %s<type>.<order>", natsSubject, prefix)}}
	}
	var p []string // sorted, as InvalidError's: /subject before /type
	if want := subjectToken(in.Subject); order != want {
		p = append(p, fmt.Sprintf("/subject: %q (subject token %q) differs from the order token %q of NATS subject %q",
			in.Subject, want, order, natsSubject))
	}
	if typ != string(in.Type) {
		p = append(p, fmt.Sprintf("/type: %q differs from the type %q of NATS subject %q", in.Type, typ, natsSubject))
	}
	if p == nil {
		return nil
	}
	return &InvalidError{Type: in.Type, Problems: p}
}

// subjectToken escapes an order id as bus.Token does, so that it is one
// subject token: letters, digits and '-' stay, every other byte becomes
// _XX (upper-case hex). It is a copy, as bus imports this package;
// TestCheckSubjectAgreesWithBus holds it to bus.Token.
func subjectToken(id string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(id))
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
	}
	return b.String()
}
