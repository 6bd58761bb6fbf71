package events

// QuickInbound is the fast path of Inbound alone: the decoded event and
// whether the fast path vouched for it.
func (v *Validator) QuickInbound(raw []byte) (Inbound, bool) { return v.quick.inbound(raw) }

// SchemaInbound is the schema path of Inbound alone.
func (v *Validator) SchemaInbound(raw []byte) (Inbound, error) { return v.schemaInbound(raw) }

// CanonicalTime is the fast path's check of a timestamp's shape.
var CanonicalTime = canonicalTime

// DateTimeSchema validates s with the schema's definition of a timestamp.
func (v *Validator) DateTimeSchema(s string) error { return v.quick.dateTime.Validate(s) }
