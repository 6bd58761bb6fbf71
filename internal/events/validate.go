package events

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/taxbridge/taxbridge/schemas"
)

// Validator checks raw events against the embedded JSON Schemas.
type Validator struct {
	byType map[Type]*jsonschema.Schema
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
	v := &Validator{byType: map[Type]*jsonschema.Schema{}}
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

// Validate checks raw against the schema its "type" names and decodes it.
// Every failure is an *InvalidError naming the offending fields.
func (v *Validator) Validate(raw []byte) (Envelope, error) {
	var head struct {
		Type Type `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Envelope{}, &InvalidError{Problems: []string{"/: not a JSON object: " + err.Error()}}
	}
	s, ok := v.byType[head.Type]
	if !ok {
		return Envelope{}, &InvalidError{Type: head.Type, Problems: []string{fmt.Sprintf("/type: unknown event type %q", head.Type)}}
	}
	if p := schemas.ValidateJSON(s, raw); p != nil {
		return Envelope{}, &InvalidError{Type: head.Type, Problems: p}
	}
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Envelope{}, &InvalidError{Type: head.Type, Problems: []string{"/: " + err.Error()}}
	}
	return env, nil
}
