package avataxsim

import (
	"math/rand"
	"testing"

	"github.com/shopspring/decimal"
)

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
