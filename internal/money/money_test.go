package money

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
)

func TestRound2HalfAwayFromZero(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.225", "0.23"},
		{"-0.225", "-0.23"},
		{"0.224", "0.22"},
		{"1.005", "1.01"},
		{"-1.005", "-1.01"},
		{"7.75", "7.75"},
	}
	for _, tt := range tests {
		got := Round2(decimal.RequireFromString(tt.in))
		if !got.Equal(decimal.RequireFromString(tt.want)) {
			t.Errorf("Round2(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAmountsAreJSONNumbers(t *testing.T) {
	b, err := json.Marshal(struct{ A decimal.Decimal }{decimal.RequireFromString("0.1")})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"A":0.1}` {
		t.Fatalf("marshal = %s, want a bare JSON number", b)
	}
	var v struct{ A, B decimal.Decimal }
	if err := json.Unmarshal([]byte(`{"A":"30.00","B":0.30000000000000004}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.String() != "30" || v.B.String() != "0.30000000000000004" {
		t.Fatalf("decoded %s and %s: digits lost", v.A, v.B)
	}
}
