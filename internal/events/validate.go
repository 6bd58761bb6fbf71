package events

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/schemas"
)

// Validator checks raw events against the embedded JSON Schemas.
type Validator struct {
	byType map[Type]*jsonschema.Schema
	quick  *quick
}

// NewValidator compiles the schemas of every inbound and outbound type.
func NewValidator() (*Validator, error) {
	types := append(append([]Type{}, InboundTypes...), TaxResult, TaxError)
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t) + ".schema.json"
	}
	compiled, err := schemas.Compile(names...)
	if err != nil {
		return nil, err
	}
	q, err := newQuick()
	if err != nil {
		return nil, err
	}
	v := &Validator{byType: map[Type]*jsonschema.Schema{}, quick: q}
	for i, t := range types {
		v.byType[t] = compiled[names[i]]
	}
	return v, nil
}

// InvalidError says why an event does not match its schema.
type InvalidError struct {
	Type     Type
	Problems []string // "<instance location>: <what is wrong>", sorted
}

func (e *InvalidError) Error() string {
	t := string(e.Type)
	if t == "" {
		t = "unknown"
	}
	return fmt.Sprintf("invalid %s event: %s", t, strings.Join(e.Problems, "; "))
}

// Validate checks raw against the schema its "type" names and decodes its
// envelope. Every failure is an *InvalidError naming the offending fields.
func (v *Validator) Validate(raw []byte) (Envelope, error) {
	typ, err := v.check(raw)
	if err != nil {
		return Envelope{}, err
	}
	var env Envelope
	if err := fastjson.Unmarshal(raw, &env); err != nil {
		return Envelope{}, &InvalidError{Type: typ, Problems: []string{"/: " + err.Error()}}
	}
	return env, nil
}

// Inbound checks raw as an inbound event and decodes it with its data in
// one pass. Every failure is an *InvalidError naming the offending fields,
// including a subject that is not the order's id.
func (v *Validator) Inbound(raw []byte) (Inbound, error) {
	in, err := v.inbound(raw)
	if err == nil {
		err = in.sameOrder()
	}
	if err != nil {
		return Inbound{}, err
	}
	return in, nil
}

func (v *Validator) inbound(raw []byte) (Inbound, error) {
	if in, ok := v.quick.inbound(raw); ok {
		return in, nil
	}
	return v.schemaInbound(raw)
}

// schemaInbound validates raw with the schema of its type, then decodes it.
func (v *Validator) schemaInbound(raw []byte) (Inbound, error) {
	typ, err := v.check(raw)
	if err != nil {
		return Inbound{}, err
	}
	if !slices.Contains(InboundTypes, typ) {
		return Inbound{}, &InvalidError{Type: typ, Problems: []string{fmt.Sprintf("/type: %q is not an inbound event type", typ)}}
	}
	var in Inbound
	if err := json.Unmarshal(raw, &in, schemaDecode); err != nil {
		return Inbound{}, &InvalidError{Type: typ, Problems: []string{decodeProblem(err)}}
	}
	return in, nil
}

// schemaDecode decodes an event the schema accepted as the schema read
// it: encoding/json's behaviour (as fastjson), but with member names
// matched exactly and duplicate names refused. encoding/json would fill
// the order's price from a member "PRICE", which the schema does not know
// and so never checked, or take the last of two "order" members into what
// the first one left.
var schemaDecode = json.JoinOptions(json.DefaultOptionsV2(), jsonv1.DefaultOptionsV1(),
	json.MatchCaseInsensitiveNames(false), jsontext.AllowDuplicateNames(false), jsonv1.ReportErrorsWithLegacySemantics(false))

// decodeProblem says what a decode error is about as a problem,
// "<pointer>: <what is wrong>", its pointer written as Problems writes
// the schema's (unescaped).
func decodeProblem(err error) string {
	return schemas.ErrorPointer(err) + ": " + err.Error()
}

// sameOrder checks that the event's subject is its order's id.
func (in *Inbound) sameOrder() error {
	if in.Data.Order.ID != in.Subject {
		return &InvalidError{Type: in.Type, Problems: []string{
			fmt.Sprintf("/subject: %q differs from /data/order/id %q", in.Subject, in.Data.Order.ID)}}
	}
	return nil
}

// check validates raw against the schema of the type it names and returns
// that type. The document is parsed once: its type is read from the value
// the schema validates.
func (v *Validator) check(raw []byte) (Type, error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	obj, ok := inst.(map[string]any)
	if err != nil || !ok {
		why := "not an object"
		if err != nil {
			why = err.Error()
		}
		return "", &InvalidError{Problems: []string{"/: not a JSON object: " + why}}
	}
	name, _ := obj["type"].(string)
	typ := Type(name)
	s, ok := v.byType[typ]
	if !ok {
		return typ, &InvalidError{Type: typ, Problems: []string{fmt.Sprintf("/type: unknown event type %q", typ)}}
	}
	if p := schemas.ValidateValue(s, inst); p != nil {
		return typ, &InvalidError{Type: typ, Problems: p}
	}
	return typ, nil
}
