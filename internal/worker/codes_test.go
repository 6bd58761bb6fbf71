package worker

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/schemas"
)

// TestTaxErrorSchemaListsEveryCode: the OMS reads the codes from the
// tax_error schema, so every code the worker can publish is there, and
// nothing else.
func TestTaxErrorSchemaListsEveryCode(t *testing.T) {
	raw, err := schemas.FS.ReadFile("tax_error.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			Data struct {
				Properties struct {
					Code struct {
						Enum []string `json:"enum"`
					} `json:"code"`
				} `json:"properties"`
			} `json:"data"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range []string{lifecycle.RefusedRefundBeforeCommit, lifecycle.RefusedRefundOrderInStore,
		lifecycle.RefusedVoidCommitted, lifecycle.RefusedOrderVoided} {
		codes = append(codes, r)
	}
	codes = append(codes, CodeInvalidOrderData, CodeInvalidAddress, CodeInvalidEvent, CodeRetriesExhausted)
	// failed publishes AvaTax's refusals of these kinds; transient and
	// auth failures are retried, never published.
	for _, k := range []avatax.Kind{avatax.KindData, avatax.KindConflict, avatax.KindNotFound} {
		e := &avatax.Error{StatusCode: statusOf(k), Code: "SomeAvaTaxError"}
		if e.Kind() != k {
			t.Fatalf("status %d is a %s error, want %s", e.StatusCode, e.Kind(), k)
		}
		codes = append(codes, avataxErrorInfo(e).Code)
	}
	slices.Sort(codes)
	enum := slices.Sorted(slices.Values(s.Properties.Data.Properties.Code.Enum))
	if !slices.Equal(codes, enum) {
		t.Errorf("tax_error schema lists %v, the worker publishes %v", enum, codes)
	}
}

// statusOf is an HTTP status AvaTax answers with for a kind of refusal.
func statusOf(k avatax.Kind) int {
	switch k {
	case avatax.KindNotFound:
		return 404
	case avatax.KindConflict:
		return 409
	}
	return 400
}
