package taxservice

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzDecodeRequest: no input panics, every refusal is an *Error naming a
// field as a JSON pointer, and what is accepted maps without a panic.
func FuzzDecodeRequest(f *testing.F) {
	raw, err := os.ReadFile("testdata/invoice.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"request_type": "CREDIT"}`))
	f.Add([]byte(`{"lines": [{"extended_price": "1e9999999"}]}`))
	cfg := testConfig()
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := DecodeRequest(raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidRequest || !strings.HasPrefix(e.Field, "/") {
				t.Fatalf("refusal %v does not name its field", err)
			}
			return
		}
		if _, err := Map(cfg, r); err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Field, "/") {
				t.Fatalf("mapping refusal %v does not name its field", err)
			}
		}
	})
}
