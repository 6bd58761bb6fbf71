package main

import (
	"os"
	"testing"

	"github.com/taxbridge/taxbridge/internal/money"
)

// TestMain encodes amounts as JSON numbers, as every taxbridge process does
// (the event contract and AvaTax carry them as numbers).
func TestMain(m *testing.M) {
	money.EncodeAmountsAsNumbers()
	os.Exit(m.Run())
}
