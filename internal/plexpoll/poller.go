package plexpoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/internal/plex"
)

// Source is what the poller reads from Plex; *plex.Client implements it.
// Every method is one Plex call.
type Source interface {
	ListSalesOrders(ctx context.Context, filter url.Values) ([]plex.SalesOrder, error)
	GetCustomer(ctx context.Context, id string) (*plex.Customer, error)
	ListCustomerAddresses(ctx context.Context, customerID string) ([]plex.CustomerAddress, error)
	ListPurchaseOrders(ctx context.Context, filter url.Values) ([]plex.PurchaseOrder, error)
	GetSupplier(ctx context.Context, id string) (*plex.Supplier, error)
	ListSupplierAddresses(ctx context.Context, supplierID string) ([]plex.SupplierAddress, error)
	GetSupplierPurchasingDefaults(ctx context.Context, supplierID string) (*plex.SupplierPurchasingDefaults, error)
}

var _ Source = (*plex.Client)(nil)

// Names and defaults of the poller.
const (
	// StateBucket holds, per order (key bus.Token(order id)), the
	// fingerprint and version of the last event published for it.
	StateBucket = "plex_orders"
	// EventSource is the CloudEvents source of the poller's events.
	EventSource     = "taxbridge/plexpoll"
	DefaultInterval = time.Minute
)

// Cycle reports one poll of Plex.
type Cycle struct {
	Start     time.Time
	Duration  time.Duration
	Seen      int // orders listed (sales and purchase)
	Changed   int // orders whose fingerprint differs from the stored one (new ones included)
	Published int // events acknowledged by the stream (Duplicates included)
	// Duplicates are publishes the stream acknowledged as repeats of an
	// event it already holds (a cycle that crashed before storing).
	Duplicates int
	Unchanged  int // orders skipped: same fingerprint as stored
	Failed     int // orders not published this cycle (fetch, translation, publish or store failed); retried next cycle
	// Deferred are orders left for the next cycle because reading their
	// customer or supplier would pass WithMaxCallsPerCycle.
	Deferred int
	// Stale are orders translated with a customer or supplier read in an
	// earlier cycle (WithReferenceMaxAge, or a refresh past the call cap).
	Stale int
	Calls int // Plex calls made
}

// BudgetMinutes is the share of Plex's budget the cycle's calls spent, in
// minutes of n calls per minute (n ≤ 0: plex.DefaultBudget).
func (c Cycle) BudgetMinutes(n int) float64 {
	if n <= 0 {
		n = plex.DefaultBudget
	}
	return float64(c.Calls) / float64(n)
}

// Option configures a Poller.
type Option func(*settings)

type settings struct {
	tr        Settings
	interval  time.Duration
	leaseTTL  time.Duration
	holder    string
	replicas  int
	log       *slog.Logger
	tp        trace.TracerProvider
	now       func() time.Time
	refMaxAge time.Duration
	maxCalls  int
}

// WithInterval sets the time between the starts of two cycles (default 1m).
func WithInterval(d time.Duration) Option { return func(s *settings) { s.interval = d } }

// WithSalesChannel sets the orders' sales channel (default "plex"), which
// selects their tax configuration.
func WithSalesChannel(ch string) Option { return func(s *settings) { s.tr.SalesChannel = ch } }

// WithCancelStatuses sets the Plex statuses that void an order's tax
// (case-insensitive; default "Cancelled").
func WithCancelStatuses(st ...string) Option {
	return func(s *settings) { s.tr.CancelStatuses = append([]string{}, st...) }
}

// WithDocumentPrefix sets the first part of the AvaTax document codes
// (default "PLEX").
func WithDocumentPrefix(p string) Option { return func(s *settings) { s.tr.DocumentPrefix = p } }

// WithTenant names the Plex tenant, carried in the events and in sales
// document codes.
func WithTenant(t string) Option { return func(s *settings) { s.tr.Tenant = t } }

// WithDefaultBuilding sets the receiving building of purchase orders that
// name none.
func WithDefaultBuilding(b string) Option { return func(s *settings) { s.tr.DefaultBuilding = b } }

// WithDefaultTaxCode sets the tax code of purchase order lines that have
// none when their supplier has no default either.
func WithDefaultTaxCode(c string) Option { return func(s *settings) { s.tr.DefaultTaxCode = c } }

// WithLeaseTTL sets how long the lease outlives its holder's last renewal
// (default 30s); it is renewed every third of it.
func WithLeaseTTL(d time.Duration) Option { return func(s *settings) { s.leaseTTL = d } }

// WithHolder names this replica in the lease (default hostname-pid).
func WithHolder(name string) Option { return func(s *settings) { s.holder = name } }

// WithReplicas sets the replicas of the buckets (default 1).
func WithReplicas(n int) Option { return func(s *settings) { s.replicas = n } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// WithTracerProvider sets where the cycle spans go (default the global
// provider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(s *settings) { s.tp = tp } }

// WithReferenceMaxAge lets a cycle reuse a customer (with its addresses)
// or supplier (with its addresses and purchasing defaults) read by an
// earlier cycle for up to d (default 0: read once per cycle). Most of a
// cycle's calls read them, so this is what saves Plex's budget; a change
// to a customer or supplier is then seen up to d late. A change to an
// order is always seen in the next cycle.
func WithReferenceMaxAge(d time.Duration) Option { return func(s *settings) { s.refMaxAge = d } }

// WithMaxCallsPerCycle caps the Plex calls of a cycle (0: no cap), so
// polling leaves part of the key's budget to the tax write-back. Past the
// cap, an order whose customer or supplier was read before is translated
// with that read (Cycle.Stale), and one whose customer or supplier was
// never read waits for the next cycle (Cycle.Deferred). The two list
// calls are always made.
func WithMaxCallsPerCycle(n int) Option { return func(s *settings) { s.maxCalls = n } }

// WithClock sets the clock of event times, cycle durations and reference
// ages (default time.Now). The lease always runs on the real clock.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// Poller turns Plex orders into events on the OMS stream; see the package
// documentation.
type Poller struct {
	js     jetstream.JetStream
	src    Source
	s      settings
	state  jetstream.KeyValue
	events jetstream.Stream // the OMS stream, for the last event of an order
	lease  *lease
	tracer trace.Tracer

	running atomic.Bool
	pollMu  sync.Mutex // one cycle at a time; guards refs
	refs    *refCache  // customers and suppliers read by earlier cycles

	// test hooks (export_test.go)
	afterPublish func(orderID string) error // an error abandons the cycle before the state is stored
	noRelease    bool                       // Run ends without releasing the lease, as a crash
	pauseRenew   atomic.Bool                // renewals hang, as in a partition
}

// New provisions the buckets (plex_orders and plex_poller_lease) and
// returns a poller. The OMS stream must capture the plex.> subjects
// (bus.Provision).
func New(js jetstream.JetStream, src Source, opts ...Option) (*Poller, error) {
	s := settings{interval: DefaultInterval, leaseTTL: DefaultLeaseTTL, replicas: 1, now: time.Now}
	for _, o := range opts {
		o(&s)
	}
	if js == nil || src == nil {
		return nil, errors.New("plexpoll: New needs a JetStream and a Source")
	}
	if s.interval <= 0 || s.leaseTTL < 300*time.Millisecond {
		return nil, fmt.Errorf("plexpoll: interval %v must be positive and lease TTL %v at least 300ms", s.interval, s.leaseTTL)
	}
	if s.holder == "" {
		host, _ := os.Hostname()
		s.holder = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.tp == nil {
		s.tp = otel.GetTracerProvider()
	}
	s.tr = s.tr.withDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: StateBucket, History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas,
		Description: "per Plex order: fingerprint and version of the last event the poller published",
	})
	if err != nil {
		return nil, fmt.Errorf("plexpoll: bucket %s: %w", StateBucket, err)
	}
	stream, err := js.Stream(ctx, bus.EventsStream)
	if err != nil {
		return nil, fmt.Errorf("plexpoll: stream %s: %w", bus.EventsStream, err)
	}
	// The lease runs on the real clock, as the key expires on the server.
	l, err := newLease(ctx, js, s.holder, s.leaseTTL, s.replicas, time.Now)
	if err != nil {
		return nil, err
	}
	return &Poller{js: js, src: src, s: s, state: state, events: stream, lease: l, refs: newRefCache(),
		tracer: s.tp.Tracer("github.com/taxbridge/taxbridge/internal/plexpoll")}, nil
}

// Leader reports whether this poller holds a valid lease.
func (p *Poller) Leader() bool { return p.lease.valid() }

// Holder is this replica's name in the lease.
func (p *Poller) Holder() string { return p.s.holder }

// Run holds the lease and polls every interval until ctx ends, then
// releases the lease so another replica takes over at once. A replica
// without the lease tries to take it every quarter of its TTL; a leader
// whose renewal fails stops polling at once. Cycle errors are logged, not
// returned.
func (p *Poller) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("plexpoll: Run is already running")
	}
	defer p.running.Store(false)
	retry := time.NewTicker(p.s.leaseTTL / 4)
	defer retry.Stop()
	for {
		ok, err := p.lease.acquire(ctx)
		if err != nil && ctx.Err() == nil {
			p.s.log.Warn("plex poller: cannot take the lease", "holder", p.s.holder, "err", err)
		}
		if ok {
			p.s.log.Info("plex poller: lease taken, polling", "holder", p.s.holder)
			p.lead(ctx)
		}
		if ctx.Err() != nil {
			p.stop()
			return nil
		}
		select {
		case <-ctx.Done():
			p.stop()
			return nil
		case <-retry.C:
		}
	}
}

// stop ends leadership: a release, or a crash under test.
func (p *Poller) stop() {
	if p.noRelease {
		p.lease.drop()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.lease.release(ctx); err != nil {
		p.s.log.Warn("plex poller: lease not released; it expires after its TTL", "holder", p.s.holder, "err", err)
	}
}

// lead polls while the lease holds.
func (p *Poller) lead(ctx context.Context) {
	lctx, cancel := p.hold(ctx)
	defer cancel()
	for {
		start := p.s.now()
		c, err := p.poll(lctx)
		switch {
		case err != nil && lctx.Err() == nil && !errors.Is(err, ErrNotLeader):
			p.s.log.Error("plex poller: cycle failed", "err", err, "calls", c.Calls)
		case err == nil:
			// A quiet cycle every interval is routine: info only when
			// something was published or is owed.
			level := slog.LevelDebug
			if c.Published > 0 || c.Failed > 0 || c.Deferred > 0 {
				level = slog.LevelInfo
			}
			p.s.log.Log(lctx, level, "plex poller: cycle", "seen", c.Seen, "changed", c.Changed, "published", c.Published,
				"unchanged", c.Unchanged, "failed", c.Failed, "deferred", c.Deferred, "stale", c.Stale, "calls", c.Calls,
				"duration", c.Duration.String())
		}
		if !p.lease.valid() {
			// Renewals too slow to keep it: stop them and forget the lease;
			// it expires on the server TTL after the last one.
			cancel()
			p.lease.drop()
			p.s.log.Warn("plex poller: lease lost, polling stopped", "holder", p.s.holder)
			return
		}
		wait := p.s.interval - p.s.now().Sub(start)
		select {
		case <-lctx.Done():
			if ctx.Err() == nil {
				p.s.log.Warn("plex poller: lease lost, polling stopped", "holder", p.s.holder)
			}
			return
		case <-time.After(max(wait, 0)):
		}
	}
}

// hold renews the lease every third of its TTL until the returned cancel
// is called; the returned context ends as soon as a renewal fails.
func (p *Poller) hold(ctx context.Context) (context.Context, context.CancelFunc) {
	lctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(p.s.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			if p.pauseRenew.Load() {
				continue
			}
			rctx, rcancel := context.WithTimeout(lctx, p.s.leaseTTL/3)
			err := p.lease.renew(rctx)
			rcancel()
			if err != nil {
				if lctx.Err() == nil {
					p.s.log.Warn("plex poller: lease renewal failed", "holder", p.s.holder, "err", err)
				}
				p.lease.drop()
				cancel()
				return
			}
		}
	}()
	return lctx, cancel
}

// Poll runs one cycle. Outside Run it takes (or renews) the lease first
// and renews it while the cycle lasts, keeping it afterwards until Close
// or expiry; ErrNotLeader when another replica holds it.
func (p *Poller) Poll(ctx context.Context) (Cycle, error) {
	if p.running.Load() {
		return Cycle{}, errors.New("plexpoll: Poll while Run is running")
	}
	held := p.lease.valid() && p.lease.renew(ctx) == nil
	if !held {
		ok, err := p.lease.acquire(ctx)
		if err != nil {
			return Cycle{}, err
		}
		if !ok {
			return Cycle{}, ErrNotLeader
		}
	}
	lctx, cancel := p.hold(ctx)
	defer cancel()
	return p.poll(lctx)
}

// Close releases the lease taken by Poll.
func (p *Poller) Close(ctx context.Context) error { return p.lease.release(ctx) }

// record is what the state bucket holds per order.
type record struct {
	Fingerprint string `json:"fingerprint"`
	Version     int64  `json:"version"`
	EventID     string `json:"event_id,omitempty"`
}

type stored struct {
	record
	rev uint64
}

// poll is one cycle under a held lease.
func (p *Poller) poll(ctx context.Context) (c Cycle, err error) {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	c.Start = p.s.now()
	ctx, span := p.tracer.Start(ctx, "plexpoll cycle")
	defer func() {
		c.Duration = p.s.now().Sub(c.Start)
		span.SetAttributes(attribute.Int("plexpoll.seen", c.Seen), attribute.Int("plexpoll.published", c.Published),
			attribute.Int("plexpoll.failed", c.Failed), attribute.Int("plexpoll.calls", c.Calls))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	known, err := p.loadState(ctx)
	if err != nil {
		return c, err
	}
	src := &countingSource{Source: p.src, calls: &c.Calls}
	sales, err := src.ListSalesOrders(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("plexpoll: list sales orders: %w", err)
	}
	pos, err := src.ListPurchaseOrders(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("plexpoll: list purchase orders: %w", err)
	}
	f := p.refs.cycle(src, &c, p.s.now(), p.s.refMaxAge, p.s.maxCalls)
	defer f.done()
	if p.s.maxCalls > 0 {
		cids := make([]string, len(sales))
		for i := range sales {
			cids[i] = sales[i].CustomerID
		}
		sids := make([]string, len(pos))
		for i := range pos {
			sids[i] = pos[i].SupplierID
		}
		f.prepare(cids, sids)
	}
	seen := make(map[string]bool, len(sales)+len(pos))
	handle := func(kind, id string, translate func() (events.OrderEvent, error)) error {
		orderID := events.PlexOrderID(kind, id)
		if seen[orderID] {
			return nil
		}
		seen[orderID] = true
		c.Seen++
		ev, err := translate()
		if errors.Is(err, errDeferred) {
			c.Deferred++
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.Failed++
			p.s.log.Warn("plex poller: order skipped this cycle", "order", orderID, "err", err)
			return nil
		}
		return p.publishIfChanged(ctx, &c, ev, known[bus.Token(orderID)])
	}
	for i := range sales {
		so := &sales[i]
		if err := handle(events.PlexSalesOrder, so.ID, func() (events.OrderEvent, error) {
			cu, err := f.customer(ctx, so.CustomerID)
			if err != nil {
				return events.OrderEvent{}, err
			}
			if f.earlier(cu.seq) {
				c.Stale++
			}
			return p.s.tr.Sales(SalesInput{Order: *so, Customer: cu.Customer, Addresses: cu.addresses})
		}); err != nil {
			return c, err
		}
	}
	for i := range pos {
		po := &pos[i]
		if err := handle(events.PlexPurchaseOrder, po.ID, func() (events.OrderEvent, error) {
			su, err := f.supplier(ctx, po.SupplierID)
			if err != nil {
				return events.OrderEvent{}, err
			}
			if f.earlier(su.seq) {
				c.Stale++
			}
			return p.s.tr.Purchase(PurchaseInput{Order: *po, Supplier: su.Supplier, Addresses: su.addresses, Defaults: su.defaults})
		}); err != nil {
			return c, err
		}
	}
	return c, nil
}

// publishIfChanged publishes ev when its fingerprint differs from the
// stored one, then stores the new fingerprint and version. It returns an
// error only when the cycle must stop (lease lost, context ended).
func (p *Poller) publishIfChanged(ctx context.Context, c *Cycle, ev events.OrderEvent, old *stored) error {
	orderID := ev.Order.ID
	fp, err := Fingerprint(ev)
	if err != nil {
		c.Failed++
		p.s.log.Warn("plex poller: order skipped this cycle", "order", orderID, "err", err)
		return nil
	}
	if old != nil && old.Fingerprint == fp {
		c.Unchanged++
		return nil
	}
	c.Changed++
	t := events.PlexSalesOrderChanged
	if ev.Plex.Kind == events.PlexPurchaseOrder {
		t = events.PlexPurchaseOrderChanged
	}
	var rev uint64
	if old != nil {
		ev.OrderVersion, rev = old.Version, old.rev
	}
	// An event published after the state was last stored (a crash in
	// between, or a state that could not be read) holds a version the
	// worker has applied: the same change again is that event again, and
	// another change must go above it, or the worker drops it as stale.
	last, err := p.lastPublished(ctx, t, orderID)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.Failed++
		p.s.log.Warn("plex poller: order skipped this cycle", "order", orderID, "err", err)
		return nil
	}
	switch {
	case last != nil && last.Version > ev.OrderVersion && last.Fingerprint == fp:
		ev.OrderVersion = last.Version
	case last != nil && last.Version > ev.OrderVersion:
		ev.OrderVersion = last.Version + 1
	default:
		ev.OrderVersion++
	}
	ev.Plex.Fingerprint = fp
	id := EventID(orderID, ev.OrderVersion, fp)
	env, err := events.New(id, EventSource, t, orderID, p.s.now(), ev)
	if err != nil {
		c.Failed++
		p.s.log.Warn("plex poller: order skipped this cycle", "order", orderID, "err", err)
		return nil
	}
	// Never publish without a valid lease: another replica may hold it.
	if !p.lease.valid() {
		return ErrNotLeader
	}
	ack, err := bus.Publish(ctx, p.js, bus.EventSubject(t, orderID), env, nil, bus.WithTracerProvider(p.s.tp))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.Failed++
		p.s.log.Warn("plex poller: publish failed; retried next cycle", "order", orderID, "event", id, "err", err)
		return nil
	}
	c.Published++
	if ack.Duplicate {
		c.Duplicates++
	}
	if p.afterPublish != nil {
		if err := p.afterPublish(orderID); err != nil {
			return err
		}
	}
	val, err := fastjson.Marshal(record{Fingerprint: fp, Version: ev.OrderVersion, EventID: id})
	if err == nil {
		if rev == 0 {
			_, err = p.state.Create(ctx, bus.Token(orderID), val)
		} else {
			_, err = p.state.Update(ctx, bus.Token(orderID), val, rev)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The event is out; the next cycle publishes it again under the
		// same id (same version and fingerprint), which is dropped as a
		// duplicate, and stores it then.
		c.Failed++
		p.s.log.Warn("plex poller: state not stored; the event is republished next cycle", "order", orderID, "event", id, "err", err)
	}
	return nil
}

// lastPublished reads the version and fingerprint of the newest event of
// the order in the stream; nil when there is none.
func (p *Poller) lastPublished(ctx context.Context, t events.Type, orderID string) (*record, error) {
	m, err := p.events.GetLastMsgForSubject(ctx, bus.EventSubject(t, orderID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plexpoll: read the last event of %s: %w", orderID, err)
	}
	var env struct {
		Data struct {
			OrderVersion int64 `json:"order_version"`
			Plex         struct {
				Fingerprint string `json:"fingerprint"`
			} `json:"plex"`
		} `json:"data"`
	}
	if err := fastjson.Unmarshal(m.Data, &env); err != nil {
		return nil, fmt.Errorf("plexpoll: decode the last event of %s (%s #%d): %w", orderID, bus.EventsStream, m.Sequence, err)
	}
	return &record{Version: env.Data.OrderVersion, Fingerprint: env.Data.Plex.Fingerprint}, nil
}

// EventID is the id of the event announcing version v of an order with
// fingerprint fp: "plex:<order id>:<v>:<fp[:16]>". The same change gets
// the same id, so a republish after a crash is dropped as a duplicate.
func EventID(orderID string, v int64, fp string) string {
	return fmt.Sprintf("plex:%s:%d:%s", orderID, v, fp[:min(16, len(fp))])
}

// loadState reads the state bucket at once (one watcher, not one Get per
// order).
func (p *Poller) loadState(ctx context.Context) (map[string]*stored, error) {
	w, err := p.state.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("plexpoll: read %s: %w", StateBucket, err)
	}
	defer w.Stop()
	out := map[string]*stored{}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("plexpoll: read %s: watcher closed", StateBucket)
			}
			if e == nil {
				return out, nil
			}
			var r record
			if err := fastjson.Unmarshal(e.Value(), &r); err != nil {
				p.s.log.Warn("plex poller: unreadable state; the order is published again", "key", e.Key(), "err", err)
				out[e.Key()] = &stored{rev: e.Revision()}
				continue
			}
			out[e.Key()] = &stored{record: r, rev: e.Revision()}
		}
	}
}

// countingSource counts the calls made through it.
type countingSource struct {
	Source
	calls *int
}

func (s *countingSource) ListSalesOrders(ctx context.Context, f url.Values) ([]plex.SalesOrder, error) {
	*s.calls++
	return s.Source.ListSalesOrders(ctx, f)
}

func (s *countingSource) GetCustomer(ctx context.Context, id string) (*plex.Customer, error) {
	*s.calls++
	return s.Source.GetCustomer(ctx, id)
}

func (s *countingSource) ListCustomerAddresses(ctx context.Context, id string) ([]plex.CustomerAddress, error) {
	*s.calls++
	return s.Source.ListCustomerAddresses(ctx, id)
}

func (s *countingSource) ListPurchaseOrders(ctx context.Context, f url.Values) ([]plex.PurchaseOrder, error) {
	*s.calls++
	return s.Source.ListPurchaseOrders(ctx, f)
}

func (s *countingSource) GetSupplier(ctx context.Context, id string) (*plex.Supplier, error) {
	*s.calls++
	return s.Source.GetSupplier(ctx, id)
}

func (s *countingSource) ListSupplierAddresses(ctx context.Context, id string) ([]plex.SupplierAddress, error) {
	*s.calls++
	return s.Source.ListSupplierAddresses(ctx, id)
}

func (s *countingSource) GetSupplierPurchasingDefaults(ctx context.Context, id string) (*plex.SupplierPurchasingDefaults, error) {
	*s.calls++
	return s.Source.GetSupplierPurchasingDefaults(ctx, id)
}
