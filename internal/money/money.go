// Package money holds taxbridge's conventions for monetary amounts: exact
// decimals (never float64), JSON numbers on the wire, and AvaTax's rounding.
package money

import "github.com/shopspring/decimal"

func init() {
	// AvaTax and the OMS exchange amounts as JSON numbers. shopspring/decimal
	// writes the exact decimal digits either way; without quotes they stay
	// numbers for clients in other languages. Decoding accepts both forms.
	decimal.MarshalJSONWithoutQuotes = true
}

// Round2 rounds an amount to cents, half away from zero, the way AvaTax rounds
// tax at line level.
func Round2(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// Zero is the zero amount.
var Zero = decimal.Zero
