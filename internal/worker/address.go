package worker

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
)

// addressResolver is the optional AvaTax capability of validating addresses.
type addressResolver interface {
	ResolveAddress(ctx context.Context, a avatax.AddressValidationInfo) (*avatax.AddressResolutionModel, error)
}

// addressCache remembers the addresses AvaTax resolved, so each address is
// validated once, before its first calculation. Unresolvable ones are not
// remembered: the next event re-checks, so a fix on AvaTax's side or in the
// configuration goes through too.
type addressCache struct {
	mu    sync.Mutex
	ok    map[avatax.AddressLocationInfo]bool
	order []avatax.AddressLocationInfo
}

const maxCachedAddresses = 50_000

func (c *addressCache) has(a avatax.AddressLocationInfo) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok[a]
}

func (c *addressCache) add(a avatax.AddressLocationInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil {
		c.ok = map[avatax.AddressLocationInfo]bool{}
	}
	if c.ok[a] {
		return
	}
	if len(c.order) >= maxCachedAddresses {
		delete(c.ok, c.order[0])
		c.order = c.order[1:]
	}
	c.ok[a] = true
	c.order = append(c.order, a)
}

// validateAddresses resolves the document's US and Canadian addresses
// (AvaTax validates no others) before the first calculation for each. It
// returns the tax error for an address AvaTax cannot resolve, or an error
// when AvaTax could not be asked.
func (w *Worker) validateAddresses(ctx context.Context, o *events.Order, doc *avatax.CreateTransactionModel) (*errorInfo, error) {
	r, ok := w.tax.(addressResolver)
	if !ok {
		return nil, nil
	}
	for _, ref := range w.mapper.AddressRefs(o, doc) {
		a := *ref.Address
		if !resolvable(a.Country) || w.addresses.has(a) {
			continue
		}
		res, err := r.ResolveAddress(ctx, avatax.AddressValidationInfo{Line1: a.Line1, Line2: a.Line2, Line3: a.Line3,
			City: a.City, Region: a.Region, Country: a.Country, PostalCode: a.PostalCode})
		if err != nil {
			if k := avatax.KindOf(err); k == avatax.KindData || k == avatax.KindNotFound {
				return &errorInfo{Code: "invalid_address", Field: ref.Field, AvaTaxCode: errorCode(err),
					Message: "AvaTax cannot resolve the address " + describe(a) + ": " + err.Error()}, nil
			}
			return nil, err
		}
		if problems := addressProblems(res); problems != "" {
			return &errorInfo{Code: "invalid_address", Field: ref.Field,
				Message: "AvaTax cannot resolve the address " + describe(a) + ": " + problems + "; correct the address and send the order again"}, nil
		}
		w.addresses.add(a)
	}
	return nil, nil
}

func resolvable(country string) bool {
	switch strings.ToUpper(country) {
	case "US", "USA", "CA", "CAN":
		return true
	}
	return false
}

func addressProblems(res *avatax.AddressResolutionModel) string {
	var out []string
	for _, m := range res.Messages {
		if m.Severity == "Error" || m.Severity == "Exception" {
			s := m.Summary
			if m.Details != "" && m.Details != m.Summary {
				s += " (" + m.Details + ")"
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

func describe(a avatax.AddressLocationInfo) string {
	parts := []string{}
	for _, p := range []string{a.Line1, a.City, a.Region, a.PostalCode, a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

func errorCode(err error) string {
	if e, ok := errors.AsType[*avatax.Error](err); ok {
		return e.Code
	}
	return ""
}
