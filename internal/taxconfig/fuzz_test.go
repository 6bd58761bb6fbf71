package taxconfig

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse holds Parse to its promises on any bytes, JSON or YAML. The
// seed corpus (testdata/fuzz/FuzzParse) is the example configuration as
// JSON and as YAML, the Oslo YAML of the tests, the refusals the tests
// check, and the findings worth keeping:
//   - it never panics;
//   - every error names the field as a JSON pointer, or is YAML that
//     cannot be read ("read as YAML: ...", with the line when the YAML
//     reader gives one);
//   - an accepted configuration, encoded as JSON, is accepted again as the
//     same configuration (compared by encoding: an empty list and none
//     mean the same).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "/") && !strings.HasPrefix(msg, "read as YAML: ") {
				t.Fatalf("the error names no field: %v", err)
			}
			return
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("encode the accepted configuration: %v", err)
		}
		c2, err := Parse(again)
		if err != nil {
			t.Fatalf("the accepted configuration, encoded again, is refused: %v\n%s", err, again)
		}
		twice, err := json.Marshal(c2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, twice) {
			t.Fatalf("the accepted configuration changes when encoded again:\n%s\n%s", again, twice)
		}
	})
}
