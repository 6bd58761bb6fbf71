// Package fastjson reads and writes JSON as encoding/json does, with the
// faster engine of github.com/go-json-experiment/json (the prototype of
// encoding/json/v2) set to encoding/json's behaviour. Hot paths use it:
// every event decodes itself and its order's record, and every AvaTax
// answer is decoded.
//
// Two differences remain: invalid UTF-8 is written as U+FFFD itself
// rather than its \ufffd escape (the same string), and encoding/json's
// Number type is an ordinary string here, so types read or written with
// fastjson must not use it.
package fastjson

import (
	json "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// v1 is encoding/json's behaviour: case-insensitive names, duplicate
// names and invalid UTF-8 accepted, nil slices written as null, HTML
// characters escaped, Marshaler and Unmarshaler methods honoured.
var v1 = json.JoinOptions(json.DefaultOptionsV2(), jsonv1.DefaultOptionsV1())

// Unmarshal is encoding/json.Unmarshal.
func Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v, v1) }

// Marshal is encoding/json.Marshal.
func Marshal(v any) ([]byte, error) { return json.Marshal(v, v1) }
