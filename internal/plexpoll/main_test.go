package plexpoll_test

import (
	"os"
	"testing"

	"github.com/taxbridge/taxbridge/internal/money"
)

// TestMain encodes amounts as JSON numbers, as every taxbridge process does.
func TestMain(m *testing.M) {
	money.EncodeAmountsAsNumbers()
	os.Exit(m.Run())
}
