package avataxsim

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// formatDecimal returns d.String() through appendDecimal.
func formatDecimal(d decimal.Decimal) string { return string(appendDecimal(nil, d)) }

// TestFormatDecimal checks formatDecimal against decimal.String over the
// edge cases and random coefficients and exponents, inside and outside
// its fast range.
func TestFormatDecimal(t *testing.T) {
	cases := []decimal.Decimal{
		{}, decimal.Zero, decimal.New(0, -3), decimal.New(0, 2), decimal.New(5, -3), decimal.New(-5, -3),
		decimal.New(1200, -2), decimal.New(-1200, -2), decimal.New(100, -5), decimal.New(65, -3), decimal.New(650, -4),
		decimal.New(999999999999999999, -18), decimal.New(-999999999999999999, -18), decimal.New(1, -18), decimal.New(1, -19),
		decimal.New(1000000000000000000, 0), decimal.New(-9223372036854775808, -2), decimal.New(12, 3),
		dec("59.98"), dec("-120.50"), dec("0.0625"), dec("1.0875"), dec("12345678901234567890.123"), dec("-0.000"),
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		c := rng.Int63n(1 << uint(rng.Intn(62)+1))
		if rng.Intn(2) == 0 {
			c = -c
		}
		if rng.Intn(4) == 0 {
			c *= int64([]int{1, 10, 100, 1000}[rng.Intn(4)]) // trailing zeros
		}
		cases = append(cases, decimal.New(c, int32(rng.Intn(24)-21)))
	}
	for _, d := range cases {
		if got, want := formatDecimal(d), d.String(); got != want {
			t.Errorf("formatDecimal(%s × 10^%d) = %q, want %q", d.Coefficient(), d.Exponent(), got, want)
		}
	}
}

func BenchmarkFormatDecimal(b *testing.B) {
	ds := []decimal.Decimal{dec("59.98"), dec("0"), dec("0.065"), dec("-4.50"), dec("120.5"), dec("2")}
	b.Run("formatDecimal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = formatDecimal(ds[i%len(ds)])
		}
	})
	b.Run("String", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = ds[i%len(ds)].String()
		}
	})
}

// TestAppendDocument checks appendDocument against json.Marshal (amounts
// are numbers: TestMain sets money.EncodeAmountsAsNumbers) on every
// version of every document of the golden sequence, rendered in full and
// as list rows with history, and on a model with the values the golden
// documents lack.
func TestAppendDocument(t *testing.T) {
	sb := New(WithClock(func() time.Time { return goldenClock }))
	for _, st := range goldenSteps() {
		serve(t, sb, st.method, st.path, st.body)
	}
	var docs []*avatax.TransactionModel
	for _, rec := range sb.docs {
		for _, v := range rec.versions {
			docs = append(docs,
				render(v, renderOpts{include: "Lines,Addresses,Summary,Details"}),
				render(v, renderOpts{listItem: true, history: rec.versions}),
				render(v, renderOpts{include: "SummaryOnly"}))
		}
	}
	odd := decimal.New(12345678901234567, -30)
	docs = append(docs, &avatax.TransactionModel{
		Code: `<a & "b">` + "\u2028é\x01", Description: "\xff", TaxOverrideAmount: &odd, ExchangeRate: nil,
		Lines:         []avatax.TransactionLineModel{{Details: []avatax.TransactionLineDetailModel{}, Parameters: json.RawMessage(` [ {"a" : 1} ] `)}},
		Addresses:     []avatax.TransactionAddressModel{},
		Messages:      []avatax.AvaTaxMessage{{Summary: "s"}},
		ShippingTaxes: []json.RawMessage{json.RawMessage(`{}`)},
		History:       []avatax.TransactionModel{{}},
	})
	if len(docs) < 50 {
		t.Fatalf("only %d documents", len(docs))
	}
	for _, d := range docs {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendDocument(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", d.Code, got, want)
		}
	}
}
