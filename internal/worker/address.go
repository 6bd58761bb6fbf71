package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
)

// addressResolver is the optional AvaTax capability of validating addresses.
type addressResolver interface {
	ResolveAddress(ctx context.Context, a avatax.AddressValidationInfo) (*avatax.AddressResolutionModel, error)
}

// addressCache remembers the addresses AvaTax resolved lately, so addresses
// shared by many orders (stores, warehouses, frequent buyers) are resolved
// once per process. Each order's record remembers its own resolved
// addresses, so the cache can stay small: memory does not grow with the
// number of open orders. Unresolvable addresses are not remembered: the
// next event checks again, so a fix goes through.
type addressCache struct {
	mu     sync.Mutex
	ok     map[addressKey]struct{}
	order  []addressKey
	flight singleflight.Group // one lookup per address at a time
}

type addressKey [16]byte

const maxCachedAddresses = 4096

func keyOf(a avatax.AddressLocationInfo) addressKey {
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Line1, a.Line2, a.Line3, a.City, a.Region, a.PostalCode, a.Country}, "\x00")))
	return addressKey(sum[:16])
}

func (c *addressCache) has(k addressKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.ok[k]
	return ok
}

func (c *addressCache) add(k addressKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil {
		c.ok = map[addressKey]struct{}{}
	}
	if _, ok := c.ok[k]; ok {
		return
	}
	if len(c.order) >= maxCachedAddresses {
		delete(c.ok, c.order[0])
		c.order = c.order[1:]
	}
	c.ok[k] = struct{}{}
	c.order = append(c.order, k)
}

// validateAddresses resolves the document's US and Canadian addresses
// (AvaTax validates no others) before the first calculation for each. It
// returns the tax error for an address AvaTax cannot resolve, or an error
// when AvaTax could not be asked.
func (w *Worker) validateAddresses(ctx context.Context, rec *store.Record, o *events.Order, doc *avatax.CreateTransactionModel) (*errorInfo, error) {
	r := w.resolver
	if r == nil {
		return nil, nil
	}
	for _, addr := range taxdoc.Addresses(doc) {
		a := *addr
		k := keyOf(a)
		digest := hex.EncodeToString(k[:])
		if !resolvable(a.Country) || slices.Contains(rec.Addresses, digest) {
			continue
		}
		if w.addresses.has(k) {
			rec.Addresses = append(rec.Addresses, digest)
			continue
		}
		v, err, _ := w.addresses.flight.Do(string(k[:]), func() (any, error) {
			return r.ResolveAddress(ctx, avatax.AddressValidationInfo{Line1: a.Line1, Line2: a.Line2, Line3: a.Line3,
				City: a.City, Region: a.Region, Country: a.Country, PostalCode: a.PostalCode})
		})
		res, _ := v.(*avatax.AddressResolutionModel)
		if err != nil {
			if k := avatax.KindOf(err); k == avatax.KindData || k == avatax.KindNotFound {
				return &errorInfo{Code: CodeInvalidAddress, Field: w.mapper.AddressField(o, addr), AvaTaxCode: errorCode(err),
					Message: "AvaTax cannot resolve the address " + describe(a) + ": " + err.Error()}, nil
			}
			return nil, err
		}
		if problems := addressProblems(res); problems != "" {
			return &errorInfo{Code: CodeInvalidAddress, Field: w.mapper.AddressField(o, addr),
				Message: "AvaTax cannot resolve the address " + describe(a) + ": " + problems + "; correct the address and send the order again"}, nil
		}
		w.addresses.add(k)
		rec.Addresses = append(rec.Addresses, digest)
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
