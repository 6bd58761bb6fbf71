// Package money holds taxbridge's conventions for monetary amounts: exact
// decimals (never float64), JSON numbers on the wire, and AvaTax's rounding.
package money

import (
	"sync"

	"github.com/shopspring/decimal"
)

var encodeAsNumbers sync.Once

// EncodeAmountsAsNumbers makes every decimal.Decimal marshal to JSON as a
// number (25.01) instead of a string ("25.01"), by setting the decimal
// library's process-wide decimal.MarshalJSONWithoutQuotes.
//
// The event contract (schemas/) and AvaTax both carry amounts as JSON
// numbers; shopspring/decimal writes the exact digits either way, and without
// quotes they stay numbers for clients in other languages. Decoding accepts
// both forms. Because the setting is a global of the library, it is set
// explicitly where a process starts (each cmd/*/main.go, before anything is
// marshalled) and in the TestMain of packages whose tests marshal amounts,
// rather than as a side effect of importing a package. It is idempotent and
// safe to call from several goroutines.
func EncodeAmountsAsNumbers() {
	encodeAsNumbers.Do(func() { decimal.MarshalJSONWithoutQuotes = true })
}

// Round2 rounds an amount to cents, half away from zero, the way AvaTax rounds
// tax at line level.
func Round2(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// Zero is the zero amount.
var Zero = decimal.Zero
