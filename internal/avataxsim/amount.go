package avataxsim

import (
	"encoding/json"
	"strconv"

	"github.com/shopspring/decimal"
)

// num is an amount on the wire: a JSON number with the digits of
// decimal.String, which is what decimal's MarshalJSON writes once
// money.EncodeAmountsAsNumbers has set MarshalJSONWithoutQuotes. Encoding a
// json.Number costs far less than calling MarshalJSON through encoding/json.
func num(d decimal.Decimal) json.Number { return json.Number(formatDecimal(d)) }

// numOr returns num(*d), or def when d is nil.
func numOr(d *decimal.Decimal, def json.Number) json.Number {
	if d == nil {
		return def
	}
	return num(*d)
}

// formatDecimal returns d.String(). A rendered document holds hundreds of
// amounts, rates and quantities, and decimal formats through math/big,
// which made it the largest cost of rendering. Their coefficients are
// small and they have at most 18 decimals, so they are formatted here with
// strconv instead; anything else, or a non-default
// decimal.TrimTrailingZeros, takes d.String(). TestFormatDecimal checks
// that both agree.
func formatDecimal(d decimal.Decimal) string {
	exp := int(d.Exponent())
	if exp > 0 || exp < -18 || !decimal.TrimTrailingZeros || d.NumDigits() > 18 {
		return d.String()
	}
	c := d.CoefficientInt64() // |c| < 10^18: no overflow below
	var buf [48]byte
	out := buf[:0]
	if c < 0 {
		out = append(out, '-')
		c = -c
	}
	var digitBuf [20]byte
	digits := strconv.AppendInt(digitBuf[:0], c, 10)
	// digits[:point] is the integer part; a negative point means leading
	// zeros after the decimal point.
	point := len(digits) + exp
	frac := max(point, 0)
	end := len(digits)
	for end > frac && digits[end-1] == '0' {
		end--
	}
	if point > 0 {
		out = append(out, digits[:point]...)
	} else {
		out = append(out, '0')
	}
	if end > frac {
		out = append(out, '.')
		for i := point; i < 0; i++ {
			out = append(out, '0')
		}
		out = append(out, digits[frac:end]...)
	}
	return string(out)
}
