package plexpoll

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/taxbridge/taxbridge/internal/plex"
)

// errDeferred says an order waits for the next cycle: reading what it
// needs would pass the cycle's call cap.
var errDeferred = errors.New("plexpoll: deferred to the next cycle (call cap)")

type customerData struct {
	plex.Customer
	addresses []plex.CustomerAddress
	at        time.Time // when read
	seq       uint64    // by which cycle
}

type supplierData struct {
	plex.Supplier
	addresses []plex.SupplierAddress
	defaults  *plex.SupplierPurchasingDefaults
	at        time.Time
	seq       uint64
}

// refCache keeps the customers and suppliers read by earlier cycles; an
// entry no order of a cycle needed is dropped at the end of that cycle.
type refCache struct {
	seq       uint64 // cycles so far
	customers map[string]*customerData
	suppliers map[string]*supplierData
}

func newRefCache() *refCache {
	return &refCache{customers: map[string]*customerData{}, suppliers: map[string]*supplierData{}}
}

// fetcher reads customers and suppliers for one cycle: each at most once
// per cycle, failures included (a customer that answered 404 is not asked
// again for each of its orders), reusing reads of earlier cycles younger
// than maxAge, and within a cap of calls.
type fetcher struct {
	src     Source
	seq     uint64
	refs    *refCache
	c       *Cycle
	now     time.Time
	maxAge  time.Duration
	cap     int
	used    map[string]bool  // "c:"/"s:" + id: read or reused this cycle
	allowed map[string]bool  // under a cap: what may be read (prepare)
	errs    map[string]error // failures of this cycle
}

func (r *refCache) cycle(src Source, c *Cycle, now time.Time, maxAge time.Duration, maxCalls int) *fetcher {
	r.seq++
	return &fetcher{src: src, seq: r.seq, refs: r, c: c, now: now, maxAge: maxAge, cap: maxCalls, used: map[string]bool{}, errs: map[string]error{}}
}

// earlier reports whether a read was made by an earlier cycle.
func (f *fetcher) earlier(seq uint64) bool { return seq != f.seq }

// done drops what the cycle did not need.
func (f *fetcher) done() {
	for id := range f.refs.customers {
		if !f.used["c:"+id] {
			delete(f.refs.customers, id)
		}
	}
	for id := range f.refs.suppliers {
		if !f.used["s:"+id] {
			delete(f.refs.suppliers, id)
		}
	}
}

// prepare chooses, under a call cap, which of the customers and suppliers
// the cycle's orders name it reads: first those never read, then those
// read longest ago, as long as the cap allows; the others are used as read
// before, or their orders deferred. Without a cap it reads whatever is not
// fresh.
func (f *fetcher) prepare(customerIDs, supplierIDs []string) {
	if f.cap <= 0 {
		return
	}
	type need struct {
		key   string
		calls int
		seq   uint64 // 0: never read
	}
	var missing, stale []need
	seen := map[string]bool{}
	add := func(key string, calls int, cached bool, at time.Time, seq uint64) {
		if seen[key] {
			return
		}
		seen[key] = true
		switch {
		case !cached:
			missing = append(missing, need{key, calls, 0})
		case f.maxAge > 0 && f.now.Sub(at) < f.maxAge:
		default:
			stale = append(stale, need{key, calls, seq})
		}
	}
	for _, id := range customerIDs {
		d, ok := f.refs.customers[id]
		if ok {
			add("c:"+id, 2, true, d.at, d.seq)
		} else if id != "" {
			add("c:"+id, 2, false, time.Time{}, 0)
		}
	}
	for _, id := range supplierIDs {
		d, ok := f.refs.suppliers[id]
		if ok {
			add("s:"+id, 3, true, d.at, d.seq)
		} else if id != "" {
			add("s:"+id, 3, false, time.Time{}, 0)
		}
	}
	slices.SortStableFunc(stale, func(a, b need) int { return cmp.Compare(a.seq, b.seq) })
	f.allowed = map[string]bool{}
	left := f.cap - f.c.Calls
	for _, n := range append(missing, stale...) {
		if n.calls <= left {
			f.allowed[n.key] = true
			left -= n.calls
		}
	}
}

// plan says whether to read (true), to use the entry read before (false,
// nil), or to defer (errDeferred).
func (f *fetcher) plan(key string, at time.Time, cached bool) (bool, error) {
	if err, ok := f.errs[key]; ok {
		return false, err
	}
	fresh := cached && (f.used[key] || (f.maxAge > 0 && f.now.Sub(at) < f.maxAge))
	if fresh {
		return false, nil
	}
	if f.allowed != nil && !f.allowed[key] {
		if cached {
			return false, nil
		}
		return false, errDeferred
	}
	return true, nil
}

func (f *fetcher) fail(ctx context.Context, key string, err error) error {
	if ctx.Err() == nil { // a cancelled call says nothing about the customer
		f.errs[key] = err
	}
	return err
}

func (f *fetcher) customer(ctx context.Context, id string) (*customerData, error) {
	if id == "" {
		return nil, errors.New("the order names no customer")
	}
	cached, ok := f.refs.customers[id]
	return reference(ctx, f, "c:"+id, cached, ok, func() (*customerData, error) {
		cu, err := f.src.GetCustomer(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("customer %s: %w", id, err)
		}
		as, err := f.src.ListCustomerAddresses(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("addresses of customer %s: %w", id, err)
		}
		d := &customerData{Customer: *cu, addresses: as, at: f.now, seq: f.seq}
		f.refs.customers[id] = d
		return d, nil
	})
}

func (f *fetcher) supplier(ctx context.Context, id string) (*supplierData, error) {
	if id == "" {
		return nil, errors.New("the order names no supplier")
	}
	cached, ok := f.refs.suppliers[id]
	return reference(ctx, f, "s:"+id, cached, ok, func() (*supplierData, error) {
		su, err := f.src.GetSupplier(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("supplier %s: %w", id, err)
		}
		as, err := f.src.ListSupplierAddresses(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("addresses of supplier %s: %w", id, err)
		}
		def, err := f.src.GetSupplierPurchasingDefaults(ctx, id)
		if err != nil && !plex.IsNotFound(err) {
			return nil, fmt.Errorf("purchasing defaults of supplier %s: %w", id, err)
		}
		d := &supplierData{Supplier: *su, addresses: as, defaults: def, at: f.now, seq: f.seq}
		f.refs.suppliers[id] = d
		return d, nil
	})
}

// reference is a customer's or supplier's data for this cycle: the
// earlier read (cached, when has) when the plan allows it, else a new
// one (read caches it). key is "c:" or "s:" + id.
func reference[T interface{ readAt() time.Time }](ctx context.Context, f *fetcher, key string, cached T, has bool, read func() (T, error)) (T, error) {
	var zero T
	var at time.Time
	if has {
		at = cached.readAt()
	}
	fresh, err := f.plan(key, at, has)
	if err != nil {
		return zero, err
	}
	d := cached
	if fresh {
		if d, err = read(); err != nil {
			return zero, f.fail(ctx, key, err)
		}
	}
	f.used[key] = true
	return d, nil
}

func (d *customerData) readAt() time.Time { return d.at }
func (d *supplierData) readAt() time.Time { return d.at }
