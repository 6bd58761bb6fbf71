package schemas

import (
	"strings"
	"testing"
)

func TestNumberInRange(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"0", true},
		{"-12.50", true},
		{"1e999", true},
		{"1E+999", true},
		{"1e-999", true},
		{"12.5e998", false},
		{"1e1000", false},
		{"1e-1000", false},
		{"1e0000000000000999", true},
		{"1e99999999999999999999", false},
		{strings.Repeat("9", 1000), true},
		{strings.Repeat("9", 1001), false},
		{"0." + strings.Repeat("0", 999), true},
		{"0." + strings.Repeat("0", 1000), false},
	} {
		if got := NumberInRange(tc.s); got != tc.want {
			t.Errorf("NumberInRange(%.30q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// TestValidateRefusesNumbersOutOfRange checks that a number math/big
// cannot read is refused, naming it, where the validator would read it:
// a list of unique items and a minimum (else the validator panics).
func TestValidateRefusesNumbersOutOfRange(t *testing.T) {
	c, err := Compile("taxconfig.schema.json", "common.schema.json#/$defs/price")
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.TrimSuffix(strings.Repeat("1e1000001,", 21), ",")
	for name, tc := range map[string]struct{ schema, doc, want string }{
		"unique items": {"taxconfig.schema.json", `{"global": {"removed_line_item_states": [` + huge + `]}}`, "/global/removed_line_item_states/0: number out of range"},
		"minimum":      {"common.schema.json#/$defs/price", `-1e1000001`, "/: number out of range"},
	} {
		p := ValidateJSON(c[tc.schema], []byte(tc.doc))
		if len(p) == 0 || !strings.HasPrefix(p[0], tc.want) || len(p) > maxNumberProblems {
			t.Errorf("%s: %q, want %q first, and no more than %d", name, p, tc.want, maxNumberProblems)
		}
	}
}
