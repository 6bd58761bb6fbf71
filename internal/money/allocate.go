package money

import (
	"cmp"
	"slices"

	"github.com/shopspring/decimal"
)

var hundred = decimal.NewFromInt(100)

// Allocate splits total into whole-cent parts proportional to weights, so
// that the parts always sum exactly to total rounded to cents. It is the
// largest-remainder method: every part first gets its exact share rounded
// down to the cent, and the cents still missing go one each to the parts
// whose shares lost the most, the earliest part first among equals. The
// split therefore depends only on the total and the weights in their order,
// and each part is within a cent of its exact share. A negative total is
// split as its opposite and negated. Weights must not be negative; when
// they sum to zero there is nothing to share by, and every part is zero.
func Allocate(total decimal.Decimal, weights []int64) []decimal.Decimal {
	parts := make([]decimal.Decimal, len(weights))
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 {
		for i := range parts {
			parts[i] = Zero
		}
		return parts
	}
	cents := Round2(total).Abs().Mul(hundred) // a whole number
	whole := decimal.NewFromInt(sum)
	type rest struct {
		i   int
		rem decimal.Decimal
	}
	rests := make([]rest, len(weights))
	given := Zero
	for i, w := range weights {
		q, r := cents.Mul(decimal.NewFromInt(w)).QuoRem(whole, 0)
		parts[i] = q
		given = given.Add(q)
		rests[i] = rest{i, r}
	}
	slices.SortStableFunc(rests, func(a, b rest) int { return -cmp.Compare(a.rem.Cmp(b.rem), 0) })
	left := cents.Sub(given).IntPart() // fewer than len(weights)
	for k := int64(0); k < left; k++ {
		parts[rests[k].i] = parts[rests[k].i].Add(decimal.NewFromInt(1))
	}
	for i := range parts {
		parts[i] = parts[i].Div(hundred)
		if total.IsNegative() {
			parts[i] = parts[i].Neg()
		}
	}
	return parts
}
