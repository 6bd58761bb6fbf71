package plexpoll_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexpoll"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

type env struct {
	js     jetstream.JetStream
	sb     *plexsim.Sandbox
	client *plex.Client
	val    *events.Validator
}

var quiet = slog.New(slog.DiscardHandler)

func newEnv(t *testing.T, opts ...plexsim.Option) *env {
	t.Helper()
	emb, err := bus.StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); emb.Shutdown() })
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Provision(context.Background(), js, bus.DefaultTopology); err != nil {
		t.Fatal(err)
	}
	sb := plexsim.New(append([]plexsim.Option{plexsim.WithBudget(-1, 0)}, opts...)...)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := plex.New(srv.URL, plex.Credentials{APIKey: plexsim.DefaultAPIKey}, plex.WithBudget(0, 0),
		plex.WithRetry(plex.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return &env{js: js, sb: sb, client: c, val: v}
}

func (e *env) poller(t *testing.T, opts ...plexpoll.Option) *plexpoll.Poller {
	t.Helper()
	p, err := plexpoll.New(e.js, e.client, append([]plexpoll.Option{plexpoll.WithLogger(quiet), plexpoll.WithDefaultBuilding("MAIN")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seed puts n sales orders of the given customers (round robin) and one
// purchase order.
func (e *env) seed(t *testing.T, n, customers int) {
	t.Helper()
	for c := range customers {
		id := fmt.Sprintf("C-%d", c)
		e.sb.PutCustomer(plex.Customer{ID: id, Code: fmt.Sprintf("CUST%d", c), Name: id})
		e.sb.PutCustomerAddresses(id, plex.CustomerAddress{ID: "A-" + id, Line1: "1 Main St", City: "Seattle", State: "WA", PostalCode: "98101", Country: "US", ShipTo: true})
	}
	for i := range n {
		e.sb.PutSalesOrder(salesOrder(i, fmt.Sprintf("C-%d", i%customers)))
	}
	e.sb.PutSupplier(plex.Supplier{ID: "S-1", Code: "STEELCO"})
	e.sb.PutSupplierAddresses("S-1", plex.SupplierAddress{ID: "SA-1", Line1: "1 Mill Rd", City: "Pittsburgh", State: "PA", PostalCode: "15201", Country: "US"})
	e.sb.PutPurchaseOrder(plex.PurchaseOrder{ID: "PO-1", Number: "P-1", SupplierID: "S-1", ShipTo: "BLDG-2", Status: "Open", Currency: "USD", OrderDate: orderDate,
		Lines: []plex.PurchaseOrderLine{{ID: "PL-1", PartNumber: "STEEL", Quantity: dec("2"), Amount: dec("800")}}})
}

func salesOrder(i int, customer string) plex.SalesOrder {
	return plex.SalesOrder{ID: fmt.Sprintf("SO-%d", i), Number: fmt.Sprintf("%d", 10000+i), CustomerID: customer, Status: "Open", Currency: "USD", OrderDate: orderDate,
		Lines: []plex.SalesOrderLine{{ID: "L-1", LineNumber: 1, PartNumber: "BRKT", Quantity: dec("3"), UnitPrice: dec("12.50"), Amount: dec("37.50")}}}
}

// messages returns the events on the plex subjects, validated.
func (e *env) messages(t *testing.T) []events.Inbound {
	t.Helper()
	ctx := context.Background()
	cons, err := e.js.OrderedConsumer(ctx, bus.EventsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"plex.>"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.js.Stream(ctx, bus.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("plex.>"))
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	var out []events.Inbound
	for uint64(len(out)) < total {
		batch, err := cons.Fetch(int(total)-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			in, err := e.val.Inbound(m.Data())
			if err != nil {
				t.Fatalf("event on %s does not validate: %v\n%s", m.Subject(), err, m.Data())
			}
			if m.Headers().Get(nats.MsgIdHdr) != in.ID {
				t.Fatalf("Nats-Msg-Id %q, event id %q", m.Headers().Get(nats.MsgIdHdr), in.ID)
			}
			if want := bus.EventSubject(in.Type, in.Subject); m.Subject() != want {
				t.Fatalf("subject %s, want %s", m.Subject(), want)
			}
			out = append(out, in)
		}
		if got == 0 {
			t.Fatalf("fetched %d of %d messages", len(out), total)
		}
	}
	return out
}

func poll(t *testing.T, p *plexpoll.Poller) plexpoll.Cycle {
	t.Helper()
	c, err := p.Poll(context.Background())
	if err != nil {
		t.Fatalf("poll: %v (cycle %+v)", err, c)
	}
	return c
}

func TestCyclePublishesChangesOnly(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 6, 2)
	p := e.poller(t)
	c := poll(t, p)
	// 2 lists + 2 customers x 2 + 1 supplier x 3 (defaults: 404).
	if c.Seen != 7 || c.Changed != 7 || c.Published != 7 || c.Unchanged != 0 || c.Failed != 0 || c.Calls != 9 {
		t.Fatalf("first cycle %+v", c)
	}
	msgs := e.messages(t)
	if len(msgs) != 7 {
		t.Fatalf("%d events", len(msgs))
	}
	byOrder := map[string]events.Inbound{}
	for _, m := range msgs {
		byOrder[m.Subject] = m
		if m.Data.OrderVersion != 1 || m.Data.Action != events.RefreshOrderTaxes || m.Data.Plex == nil {
			t.Fatalf("event %+v", m.Data)
		}
		if fp, _ := plexpoll.Fingerprint(m.Data); fp != m.Data.Plex.Fingerprint || m.ID != plexpoll.EventID(m.Subject, 1, fp) {
			t.Fatalf("fingerprint %s id %s", m.Data.Plex.Fingerprint, m.ID)
		}
	}
	po := byOrder["plex-po-PO-1"]
	if po.Type != events.PlexPurchaseOrderChanged || po.Data.Order.DocumentType != "PurchaseInvoice" || po.Data.Order.Origin == nil {
		t.Fatalf("purchase event %+v", po)
	}
	if so := byOrder["plex-so-SO-3"]; so.Type != events.PlexSalesOrderChanged || so.Data.Order.Customer.ID != "CUST1" {
		t.Fatalf("sales event %+v", so)
	}

	c = poll(t, p)
	if c.Seen != 7 || c.Unchanged != 7 || c.Published != 0 || c.Changed != 0 {
		t.Fatalf("second cycle %+v", c)
	}
	if n := len(e.messages(t)); n != 7 {
		t.Fatalf("%d events after an unchanged cycle", n)
	}

	so := salesOrder(4, "C-0")
	so.Lines[0].Amount = dec("40.00")
	e.sb.PutSalesOrder(so)
	c = poll(t, p)
	if c.Changed != 1 || c.Published != 1 || c.Unchanged != 6 {
		t.Fatalf("third cycle %+v", c)
	}
	msgs = e.messages(t)
	last := msgs[len(msgs)-1]
	if len(msgs) != 8 || last.Subject != "plex-so-SO-4" || last.Data.OrderVersion != 2 || !last.Data.Order.OrderItems[0].PricingDetails.Price.Equal(dec("40")) {
		t.Fatalf("%d events, last %+v", len(msgs), last.Data)
	}

	// Cancelled: a void, version 3.
	so.Status = "Cancelled"
	e.sb.PutSalesOrder(so)
	poll(t, p)
	msgs = e.messages(t)
	if last = msgs[len(msgs)-1]; last.Data.Action != events.VoidOrderTaxes || last.Data.OrderVersion != 3 {
		t.Fatalf("cancel event %+v", last.Data)
	}
}

func TestCorrectedCustomerAddressRepublishes(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 4, 2)
	p := e.poller(t)
	poll(t, p)
	e.sb.PutCustomerAddresses("C-1", plex.CustomerAddress{ID: "A-C-1", Line1: "1 Main St", City: "Seattle", State: "WA", PostalCode: "98104", Country: "US", ShipTo: true})
	c := poll(t, p)
	if c.Changed != 2 || c.Published != 2 || c.Unchanged != 3 {
		t.Fatalf("cycle %+v", c)
	}
	msgs := e.messages(t)
	for _, m := range msgs[len(msgs)-2:] {
		if m.Data.OrderVersion != 2 || m.Data.Order.Customer.ID != "CUST1" || m.Data.Order.Delivery.Destination.Address.ZipCode != "98104" {
			t.Fatalf("event %+v", m.Data.Order)
		}
	}
}

func TestCrashBeforeStoreRepublishesTheSameEvent(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 3, 1)
	p := e.poller(t)
	crash := errors.New("crash")
	p.SetAfterPublish(func(orderID string) error {
		if orderID == "plex-so-SO-1" {
			return crash
		}
		return nil
	})
	if _, err := p.Poll(context.Background()); !errors.Is(err, crash) {
		t.Fatalf("poll: %v", err)
	}
	before := e.messages(t) // SO-0 and SO-1 published, SO-1 not stored
	if len(before) != 2 {
		t.Fatalf("%d events before the re-poll", len(before))
	}
	p.SetAfterPublish(nil)
	c := poll(t, p)
	if c.Published != 3 || c.Duplicates != 1 || c.Unchanged != 1 {
		t.Fatalf("re-poll %+v", c)
	}
	after := e.messages(t)
	if len(after) != 4 {
		t.Fatalf("%d events after the re-poll, want 4 (SO-1 once)", len(after))
	}
	n := 0
	for _, m := range after {
		if m.Subject == "plex-so-SO-1" {
			n++
			if m.ID != before[1].ID || m.Data.OrderVersion != 1 {
				t.Fatalf("republished %s v%d, first %s", m.ID, m.Data.OrderVersion, before[1].ID)
			}
		}
	}
	if n != 1 {
		t.Fatalf("SO-1 %d times", n)
	}
	if c := poll(t, p); c.Published != 0 || c.Unchanged != 4 {
		t.Fatalf("third cycle %+v", c)
	}
}

func TestFailedOrderIsRetriedNextCycle(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 4, 2)
	e.sb.PutSalesOrder(salesOrder(9, "C-404"))
	e.sb.PutSalesOrder(salesOrder(10, "C-404"))
	p := e.poller(t)
	c := poll(t, p)
	// C-404 is asked once (404 cached for the cycle) and fails both its orders.
	if c.Seen != 7 || c.Published != 5 || c.Failed != 2 || c.Calls != 2+2*2+1+3 {
		t.Fatalf("cycle %+v", c)
	}
	e.sb.PutCustomer(plex.Customer{ID: "C-404", Code: "LATE"})
	c = poll(t, p)
	if c.Published != 2 || c.Failed != 0 || c.Unchanged != 5 {
		t.Fatalf("retry cycle %+v", c)
	}
}

func TestPollerLeaseOnlyOneLeader(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 2, 1)
	const ttl = 2 * time.Second
	a := e.poller(t, plexpoll.WithHolder("a"), plexpoll.WithLeaseTTL(ttl), plexpoll.WithInterval(100*time.Millisecond))
	b := e.poller(t, plexpoll.WithHolder("b"), plexpoll.WithLeaseTTL(ttl), plexpoll.WithInterval(100*time.Millisecond))
	a.SetCrashOnStop()
	b.SetCrashOnStop()
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.Run(ctxA) }()
	go func() { defer wg.Done(); b.Run(ctxB) }()
	defer func() { stopA(); stopB(); wg.Wait() }()

	waitFor(t, 3*time.Second, "a leader", func() bool { return a.Leader() || b.Leader() })
	for range 10 { // never two
		if a.Leader() && b.Leader() {
			t.Fatal("two leaders")
		}
		time.Sleep(ttl / 10)
	}
	leader, other, stopLeader := a, b, stopA
	if b.Leader() {
		leader, other, stopLeader = b, a, stopB
	}
	crashed := time.Now()
	stopLeader() // no release: the lease must expire
	waitFor(t, ttl+2*time.Second, "takeover", other.Leader)
	took := time.Since(crashed)
	t.Logf("%s took over %v after %s crashed (TTL %v)", other.Holder(), took.Round(10*time.Millisecond), leader.Holder(), ttl)
	if took < ttl/2 {
		t.Fatalf("takeover after %v, before the lease of the crashed leader could expire", took)
	}
	if leader.Leader() {
		t.Fatal("the crashed poller still claims the lease")
	}
	if n := len(e.messages(t)); n != 3 {
		t.Fatalf("%d events for 3 orders polled by two replicas", n)
	}
}

func TestReleaseOnShutdownHandsOverAtOnce(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 1, 1)
	const ttl = 3 * time.Second
	a := e.poller(t, plexpoll.WithHolder("a"), plexpoll.WithLeaseTTL(ttl))
	b := e.poller(t, plexpoll.WithHolder("b"), plexpoll.WithLeaseTTL(ttl))
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { defer close(doneA); a.Run(ctxA) }()
	waitFor(t, 2*time.Second, "a leads", a.Leader)
	ctxB, stopB := context.WithCancel(context.Background())
	doneB := make(chan struct{})
	go func() { defer close(doneB); b.Run(ctxB) }()
	defer func() { stopB(); <-doneB }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	stopA()
	<-doneA
	waitFor(t, ttl, "b leads", b.Leader)
	if took := time.Since(start); took > ttl/2 {
		t.Fatalf("takeover after a clean shutdown took %v", took)
	}
}

func TestPollerStopsPublishingWhenTheLeaseIsLost(t *testing.T) {
	// Each order's customer read takes ~20ms: a cycle of 150 orders lasts
	// ~6s, during which the lease is taken away.
	e := newEnv(t, plexsim.WithFaults(plexsim.Faults{Latency: 10 * time.Millisecond}))
	e.seed(t, 150, 150)
	const ttl = 900 * time.Millisecond
	p := e.poller(t, plexpoll.WithHolder("a"), plexpoll.WithLeaseTTL(ttl))
	kv, err := e.js.KeyValue(context.Background(), plexpoll.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		c   plexpoll.Cycle
		err error
	}
	done := make(chan result, 1)
	go func() { c, err := p.Poll(context.Background()); done <- result{c, err} }()
	time.Sleep(time.Second)
	// An operator (or a partition healing) hands the lease to b.
	if err := kv.Delete(context.Background(), plexpoll.LeaseKey); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(context.Background(), plexpoll.LeaseKey, []byte("b")); err != nil {
		t.Fatal(err)
	}
	stolen := time.Now()
	r := <-done
	stopped := time.Since(stolen)
	if !errors.Is(r.err, plexpoll.ErrNotLeader) && !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cycle ended with %v (%+v)", r.err, r.c)
	}
	if r.c.Published == 0 || r.c.Published >= 150 || stopped > ttl {
		t.Fatalf("published %d of 150; stopped %v after the lease was taken (renewal every %v)", r.c.Published, stopped, ttl/3)
	}
	if p.Leader() {
		t.Fatal("still claims the lease")
	}
	// Nothing is published once the cycle has ended; the stream may hold
	// one event more than the cycle counted: a publish sent under the
	// lease whose acknowledgement the cancelled cycle did not wait for.
	n := len(e.messages(t))
	time.Sleep(200 * time.Millisecond)
	if m := len(e.messages(t)); m != n || (n != r.c.Published && n != r.c.Published+1) {
		t.Fatalf("%d events, then %d; cycle published %d", n, m, r.c.Published)
	}
	if _, err := p.Poll(context.Background()); !errors.Is(err, plexpoll.ErrNotLeader) {
		t.Fatalf("poll while b holds the lease: %v", err)
	}
	t.Logf("published %d of 150, stopped %v after the lease was taken", r.c.Published, stopped.Round(time.Millisecond))
}

func TestPollerStopsPublishingWhenItCannotRenew(t *testing.T) {
	e := newEnv(t, plexsim.WithFaults(plexsim.Faults{Latency: 10 * time.Millisecond}))
	e.seed(t, 150, 150)
	const ttl = 900 * time.Millisecond
	a := e.poller(t, plexpoll.WithHolder("a"), plexpoll.WithLeaseTTL(ttl))
	b := e.poller(t, plexpoll.WithHolder("b"), plexpoll.WithLeaseTTL(ttl))
	var mu sync.Mutex
	var last time.Time // of a's last publish
	a.SetAfterPublish(func(string) error { mu.Lock(); last = time.Now(); mu.Unlock(); return nil })
	a.PauseRenewals(true) // cut off from NATS's KV, renewals hang
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := a.Poll(context.Background()); done <- err }()
	waitFor(t, ttl, "a's lease", a.Leader)
	// b takes over once the key expires on the server.
	ctx, cancel := context.WithCancel(context.Background())
	bDone := make(chan struct{})
	defer func() { cancel(); <-bDone }()
	go func() {
		defer close(bDone)
		for ctx.Err() == nil {
			if _, err := b.Poll(ctx); !errors.Is(err, plexpoll.ErrNotLeader) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	waitFor(t, 3*ttl, "b's lease", b.Leader)
	bTook := time.Now()
	if err := <-done; !errors.Is(err, plexpoll.ErrNotLeader) {
		t.Fatalf("a's cycle ended with %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("a published until %v, its lease ran to %v, b took over at %v", last.Sub(start).Round(time.Millisecond), ttl, bTook.Sub(start).Round(time.Millisecond))
	if last.IsZero() || !last.Before(bTook) || last.Sub(start) > ttl {
		t.Fatalf("a published at %v, after its lease (%v) ran out; b took over at %v", last.Sub(start), ttl, bTook.Sub(start))
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var _ = io.Discard

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestReferenceMaxAgeSavesCalls(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 6, 2)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	p := e.poller(t, plexpoll.WithReferenceMaxAge(time.Hour), plexpoll.WithClock(clock.Now))
	if c := poll(t, p); c.Calls != 2+2*2+3 || c.Published != 7 || c.Stale != 0 {
		t.Fatalf("first cycle %+v", c)
	}
	// Within the hour only the lists are read; an order change is seen,
	// a customer change is not yet.
	e.sb.PutCustomerAddresses("C-1", plex.CustomerAddress{ID: "A-C-1", Line1: "2 Pine St", City: "Seattle", State: "WA", PostalCode: "98104", Country: "US", ShipTo: true})
	so := salesOrder(0, "C-0")
	so.Status = "Cancelled"
	e.sb.PutSalesOrder(so)
	clock.Add(30 * time.Minute)
	if c := poll(t, p); c.Calls != 2 || c.Published != 1 || c.Unchanged != 6 || c.Stale != 7 {
		t.Fatalf("cycle within the hour %+v", c)
	}
	clock.Add(31 * time.Minute)
	if c := poll(t, p); c.Calls != 2+2*2+3 || c.Published != 3 || c.Stale != 0 {
		t.Fatalf("cycle after the hour %+v (C-1's 3 orders republished)", c)
	}
	// A customer no longer named by any order is forgotten: a new order
	// of it reads it again, even within the hour.
	for i := range 6 {
		e.sb.DeleteSalesOrder(fmt.Sprintf("SO-%d", i))
	}
	poll(t, p) // nobody needs C-0 and C-1
	e.sb.PutSalesOrder(salesOrder(20, "C-0"))
	if c := poll(t, p); c.Calls != 2+2 || c.Published != 1 {
		t.Fatalf("cycle with a new order of a forgotten customer %+v", c)
	}
}

func TestMaxCallsPerCycleDefersAndUsesEarlierReads(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 6, 6) // 6 customers, 1 supplier
	p := e.poller(t, plexpoll.WithMaxCallsPerCycle(6))
	// 2 lists + 2 customers = 6: SO-0 and SO-1 now, the rest deferred.
	c := poll(t, p)
	if c.Calls != 6 || c.Published != 2 || c.Deferred != 5 || c.Failed != 0 {
		t.Fatalf("first cycle %+v", c)
	}
	// Each cycle reads what was never read first (C-2, C-3; then C-4,
	// C-5; then the supplier: 3 calls), and translates the other orders
	// with earlier reads (Stale).
	want := []struct{ published, deferred, stale int }{{2, 3, 2}, {2, 1, 4}, {1, 0, 6}}
	for i, w := range want {
		c = poll(t, p)
		if c.Calls > 6 || c.Published != w.published || c.Deferred != w.deferred || c.Stale != w.stale {
			t.Fatalf("cycle %d: %+v, want %+v", i+2, c, w)
		}
	}
	// Then the oldest reads are refreshed first: a corrected address of
	// C-0 (read in the first cycle) is seen in the next cycle.
	e.sb.PutCustomerAddresses("C-0", plex.CustomerAddress{ID: "A-C-0", Line1: "2 Pine St", City: "Seattle", State: "WA", PostalCode: "98104", Country: "US", ShipTo: true})
	if c = poll(t, p); c.Published != 1 || c.Calls > 6 {
		t.Fatalf("refresh cycle %+v", c)
	}
}

func TestRunGivesUpAStolenLeaseAndTakesItBackWhenFree(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 2, 1)
	const ttl = 1200 * time.Millisecond
	a := e.poller(t, plexpoll.WithHolder("a"), plexpoll.WithLeaseTTL(ttl), plexpoll.WithInterval(50*time.Millisecond))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	defer func() { stop(); <-done }()
	waitFor(t, time.Second, "a leads", a.Leader)
	kv, err := e.js.KeyValue(context.Background(), plexpoll.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(context.Background(), plexpoll.LeaseKey); err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Create(context.Background(), plexpoll.LeaseKey, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ttl/3+200*time.Millisecond, "a to step down", func() bool { return !a.Leader() })
	time.Sleep(ttl / 2)
	if a.Leader() {
		t.Fatal("a took the lease back while x held it")
	}
	if err := kv.Delete(context.Background(), plexpoll.LeaseKey, jetstream.LastRevision(rev)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ttl/4+300*time.Millisecond, "a to lead again", a.Leader)
}
