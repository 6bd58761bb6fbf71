// Package e2e runs taxbridge end to end: a real nats-server with JetStream
// (in-process), the AvaTax sandbox over real HTTP, and the worker, driven
// only through NATS subjects (internal/workertest assembles them).
package e2e

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// start runs one taxbridge with its own NATS server and AvaTax sandbox.
func start(t *testing.T, opts ...workertest.Option) *workertest.Harness {
	return workertest.Start(t, opts...)
}

// Jurisdiction rates of the sandbox's table for the flows' addresses.
var (
	seattle = []string{"0.065", "0.002", "0.0215", "0.014"}
	newYork = []string{"0.04", "0", "0.045", "0.00375"}
)

// taxOf is AvaTax's line-level tax: each jurisdiction's share rounded half
// away from zero, then summed.
func taxOf(amount string, rates []string) decimal.Decimal {
	a := decimal.RequireFromString(amount)
	sum := decimal.Zero
	for _, r := range rates {
		sum = sum.Add(money.Round2(a.Mul(decimal.RequireFromString(r))))
	}
	return sum
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

func decode(b []byte, v any) error { return json.Unmarshal(b, v) }
