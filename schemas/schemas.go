// Package schemas embeds the JSON Schemas of taxbridge's events, results and
// tax configuration, and compiles them, so the binaries never load a schema
// over the network.
package schemas

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// FS holds every *.schema.json file of this directory.
//
//go:embed *.schema.json
var FS embed.FS

// BaseURI is the prefix of every schema's $id.
const BaseURI = "https://taxbridge.dev/schemas/"

// Compile compiles the named schema files (e.g. "tax_result.schema.json"),
// resolving $refs among the embedded files only.
func Compile(names ...string) (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	files, err := fs.Glob(FS, "*.schema.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", f, err)
		}
		if err := c.AddResource(BaseURI+f, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", f, err)
		}
	}
	out := make(map[string]*jsonschema.Schema, len(names))
	for _, n := range names {
		s, err := c.Compile(BaseURI + n)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", n, err)
		}
		out[n] = s
	}
	return out, nil
}

var english = message.NewPrinter(language.English)

// Problems flattens a validation error to one "<JSON pointer>: <what is
// wrong>" entry per offending field, sorted.
func Problems(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	var out []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, "/"+strings.Join(e.InstanceLocation, "/")+": "+e.ErrorKind.LocalizedString(english))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(out)
	return out
}

// ValidateJSON validates a raw JSON document against a compiled schema and
// returns the problems, or nil.
func ValidateJSON(s *jsonschema.Schema, raw []byte) []string {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []string{"/: not valid JSON: " + err.Error()}
	}
	return ValidateValue(s, inst)
}

// ValidateValue validates a document decoded by jsonschema.UnmarshalJSON
// and returns the problems, or nil.
func ValidateValue(s *jsonschema.Schema, inst any) []string {
	if err := s.Validate(inst); err != nil {
		return Problems(err)
	}
	return nil
}
