package money

import (
	"os"
	"testing"
)

// TestMain encodes amounts as JSON numbers, as every taxbridge process does.
func TestMain(m *testing.M) {
	EncodeAmountsAsNumbers()
	os.Exit(m.Run())
}
