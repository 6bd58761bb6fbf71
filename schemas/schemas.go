// Package schemas embeds the JSON Schemas of taxbridge's events, results and
// tax configuration, and compiles them, so the binaries never load a schema
// over the network.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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
// and returns the problems, or nil. Numbers beyond MaxNumberDigits are
// refused before the schema sees them.
func ValidateValue(s *jsonschema.Schema, inst any) []string {
	if p := numberProblems(inst); p != nil {
		return p
	}
	if err := s.Validate(inst); err != nil {
		return Problems(err)
	}
	return nil
}

// MaxNumberDigits bounds the JSON numbers of a validated document: the
// digits of a number plus the magnitude of its exponent. The validator
// reads a number as an exact fraction (math/big) wherever a keyword
// compares it: 1e999999 costs it 20 ms, and it panics on 1e1000001,
// which math/big refuses. No amount, quantity or version comes near the
// bound.
const MaxNumberDigits = 1000

// NumberInRange reports whether the JSON number literal s is within
// MaxNumberDigits. Written out without an exponent, as taxbridge writes
// numbers, a number has no more digits than this counts, so a number
// that is in range stays in range when it is decoded and encoded again.
func NumberInRange(s string) bool {
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	n := 0
	for i := range len(mant) {
		if mant[i] >= '0' && mant[i] <= '9' {
			n++
		}
	}
	exp = strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")
	if len(exp) > 4 || n > MaxNumberDigits { // 4 digits keep the sum far from overflowing
		return false
	}
	e, err := strconv.Atoi("0" + exp)
	return err == nil && n+e <= MaxNumberDigits
}

// numberProblems names the numbers of inst that NumberInRange refuses,
// as Problems names what the schema refuses, the first
// maxNumberProblems of them in order; nil when there is none. A document
// may hold a great many, and the problems travel in a message header.
func numberProblems(inst any) []string {
	var out []string
	var walk func(v any, path []string)
	walk = func(v any, path []string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(c, append(path, k))
			}
		case []any:
			for i, c := range v {
				walk(c, append(path, strconv.Itoa(i)))
			}
		case json.Number:
			if !NumberInRange(string(v)) {
				out = append(out, fmt.Sprintf("/%s: number out of range: more than %d digits, counting its exponent",
					strings.Join(path, "/"), MaxNumberDigits))
			}
		}
	}
	walk(inst, nil)
	slices.Sort(out)
	return out[:min(len(out), maxNumberProblems)]
}

const maxNumberProblems = 10

// ErrorPointer is the JSON pointer of what a decode error of the JSON
// engine (github.com/go-json-experiment/json) is about, written as the
// schema's problems write theirs ("/a/b", unescaped; "/" for the whole
// document), so that both kinds of refusal name fields alike.
func ErrorPointer(err error) string {
	var ptr jsontext.Pointer
	var se *jsonv2.SemanticError
	var sy *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		ptr = se.JSONPointer
	case errors.As(err, &sy):
		ptr = sy.JSONPointer
	}
	return "/" + strings.Join(slices.Collect(ptr.Tokens()), "/")
}
