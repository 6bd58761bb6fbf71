package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
	"github.com/taxbridge/taxbridge/internal/worker"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// The tests here drive the worker's Process and Sweep themselves (the
// harness's worker does not consume), so that a delivery can be repeated
// at will and a process can die at a chosen step: the AvaTax transport
// panics there, and the panic unwinds the delivery as a crash would end
// it, leaving the record as it was written up to that point. They judge
// from outside: the sandbox's documents and the results stream.

// clock is the worker's clock, moved by the test past intent leases.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// crash is what the fault transport panics with.
type crash struct{}

// How the fault transport treats the calls of one document.
const (
	pass        = ""
	crashBefore = "crash before the call"      // the process dies with the intent written
	crashAfter  = "crash after the call"       // the call takes effect, then the process dies
	failBefore  = "fail before the call"       // every attempt gets 503
	failAfter   = "fail after the call"        // the first attempt takes effect and gets 500, the look-ups 503
	published   = "crash after the result"     // as crashAfter; the test publishes the result itself
	meanwhile   = "write the record meanwhile" // the hook writes the record while the call runs
)

// faults breaks the AvaTax calls about one document (by code) as the test
// says, until it is told to pass.
type faults struct {
	next  http.RoundTripper
	mu    sync.Mutex
	code  string
	mode  string
	taken bool // the first request about the code went through
	hook  func()
}

func (f *faults) set(code, mode string) {
	f.mu.Lock()
	f.code, f.mode, f.taken = code, mode, false
	f.mu.Unlock()
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	body := []byte{}
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	f.mu.Lock()
	about := f.code != "" && (bytes.Contains(body, []byte(`"code":"`+f.code+`"`)) || strings.Contains(r.URL.Path, "/"+f.code))
	mode, first, hook := f.mode, !f.taken, f.hook
	if about {
		f.taken = true
	}
	f.mu.Unlock()
	if !about {
		return f.next.RoundTrip(r)
	}
	switch mode {
	case crashBefore:
		panic(crash{})
	case crashAfter, published:
		resp, err := f.next.RoundTrip(r)
		if err == nil {
			resp.Body.Close()
		}
		panic(crash{})
	case meanwhile:
		if first {
			hook()
		}
	case failBefore:
		r.Header.Set(avataxsim.HeaderFault, "503")
	case failAfter:
		if first {
			r.Header.Set(avataxsim.HeaderFault, "500-after")
		} else {
			r.Header.Set(avataxsim.HeaderFault, "503")
		}
	}
	return f.next.RoundTrip(r)
}

type rig struct {
	*workertest.Harness
	clock  *clock
	faults *faults
	lease  time.Duration
}

func newRig(t *testing.T) *rig {
	f := &faults{}
	c := newClock()
	lease := 30 * time.Second
	h := workertest.Start(t, workertest.Stopped(), workertest.WithClock(c.Now), workertest.WithLease(lease),
		workertest.WithRetry(avatax.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}),
		workertest.WithTransport(func(next http.RoundTripper) http.RoundTripper { f.next = next; return f }))
	return &rig{Harness: h, clock: c, faults: f, lease: lease}
}

// deliver processes one delivery of the event as the consumer would hand
// it over, and reports whether the process "died" during it.
func (r *rig) deliver(env events.Envelope) (died bool, err error) {
	r.T.Helper()
	raw, merr := json.Marshal(env)
	if merr != nil {
		r.T.Fatal(merr)
	}
	in, verr := r.Validator.Inbound(raw)
	if verr != nil {
		r.T.Fatalf("event %s: %v", env.ID, verr)
	}
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(crash); !ok {
				panic(p)
			}
			died = true
		}
	}()
	_, err = r.Worker.Process(r.Ctx, &in)
	return false, err
}

// mustDeliver delivers and fails the test on an error or a crash.
func (r *rig) mustDeliver(env events.Envelope) {
	r.T.Helper()
	if died, err := r.deliver(env); err != nil || died {
		r.T.Fatalf("event %s: err %v, died %v", env.ID, err, died)
	}
}

// refundResults are the order's results of refund_order_taxes that carry
// a document, by result id.
func refundResults(h *workertest.Harness, orderID string) int {
	n := 0
	for _, d := range h.Results(orderID) {
		if d.Action == events.RefundOrderTaxes && d.Document != nil {
			n++
		}
	}
	return n
}

// checkRefunded: the order ends committed_refund with exactly one
// ReturnInvoice in AvaTax, recorded, announced once, and no intent left.
func checkRefunded(t *testing.T, h *workertest.Harness, orderID string) {
	t.Helper()
	rec := h.Record(orderID)
	if rec.State != lifecycle.CommittedRefund || rec.Intent != nil || len(rec.Returns) != 1 || !rec.Returns[0].Done() {
		t.Errorf("record: state %s intent %+v returns %+v, want committed_refund with the return done", rec.State, rec.Intent, rec.Returns)
	}
	if n := h.Documents(avatax.ReturnInvoice); n != 1 {
		t.Errorf("%d ReturnInvoices in AvaTax, want 1", n)
	}
	if n := refundResults(h, orderID); n != 1 {
		t.Errorf("%d refund results published, want 1", n)
	}
}

// deferredRefund brings an order to the point where its refund, which came
// before the commit, is made during the commit's delivery: it returns the
// commit event and the refund event.
func deferredRefund(t *testing.T, r *rig, orderID string) (commit, refund events.Envelope) {
	t.Helper()
	f := scenario.Returned(orderID)
	paid, create, commit, refund := f.Events[0], f.Events[1], f.Events[3], f.Events[5]
	for _, e := range []events.Envelope{paid, create, refund} {
		r.mustDeliver(e)
	}
	if errs := r.TaxErrors(orderID); len(errs) != 1 || errs[0].Code != lifecycle.RefusedRefundBeforeCommit {
		t.Fatalf("tax errors %+v, want the refund kept with refund_before_commit", errs)
	}
	return commit, refund
}

// TestDeferredRefundInterruptedAtEachStep: a refund that arrived before the
// commit is made during the commit's delivery. Whatever step that delivery
// stops at, the next delivery of the commit event (already applied, so a
// duplicate) or the sweep finishes the refund: one ReturnInvoice, recorded,
// announced once.
func TestDeferredRefundInterruptedAtEachStep(t *testing.T) {
	for _, mode := range []string{crashBefore, crashAfter, published, failBefore, failAfter} {
		for _, finisher := range []string{"redelivery of the commit", "sweep"} {
			t.Run(mode+", then "+finisher, func(t *testing.T) {
				r := newRig(t)
				const order = "WEB-DR"
				commit, _ := deferredRefund(t, r, order)
				r.faults.set(order+"-R1", mode)
				died, err := r.deliver(commit)
				crashed := mode == crashBefore || mode == crashAfter || mode == published
				if died != crashed || (!crashed && err == nil) {
					t.Fatalf("commit delivery: err %v died %v", err, died)
				}
				rec := r.Record(order)
				if rec.State != lifecycle.Committed || rec.Intent == nil || rec.Intent.Effect != lifecycle.RefundDocument {
					t.Fatalf("after the interruption: state %s intent %+v, want committed with the refund's intent", rec.State, rec.Intent)
				}
				if mode == published {
					// The result went out, the process died before writing.
					r.faults.set("", pass)
					doc, err := r.AvaTax.Get(r.Ctx, r.Company, order+"-R1", avatax.ReturnInvoice)
					if err != nil {
						t.Fatal(err)
					}
					publishRefundResult(t, r, rec, doc)
				}
				r.faults.set("", pass)
				if crashed {
					// Nothing released the intent: it is finished once its
					// lease has passed, not before.
					if finisher == "sweep" {
						// Given up after its last delivery: on the sweep's list.
						if err := r.Unfinished.Add(r.Ctx, order); err != nil {
							t.Fatal(err)
						}
						if _, err := r.Worker.Sweep(r.Ctx); err != nil {
							t.Fatal(err)
						}
					} else if _, err := r.deliver(commit); err == nil {
						t.Fatal("a delivery within the intent's lease went ahead")
					}
					if r.Record(order).Intent == nil {
						t.Fatal("the intent was finished within its lease")
					}
					r.clock.Add(r.lease)
				}
				if finisher == "sweep" {
					stats, err := r.Worker.Sweep(r.Ctx)
					if err != nil || stats.Unfinished != 0 {
						t.Fatalf("sweep: %+v, %v", stats, err)
					}
				} else {
					r.mustDeliver(commit)
				}
				checkRefunded(t, r.Harness, order)
				if orders, _ := r.Unfinished.List(r.Ctx); len(orders) != 0 {
					t.Errorf("orders %v still on the sweep's list", orders)
				}
			})
		}
	}
}

// publishRefundResult publishes the refund's result as the dead process
// did, under the id the worker gives it.
func publishRefundResult(t *testing.T, r *rig, rec *store.Record, doc *avatax.TransactionModel) {
	t.Helper()
	in := rec.Intent
	id := in.EventID + "/" + string(in.Effect) + "/" + in.ReturnID
	d := events.Document{Code: doc.Code, Type: doc.Type, Status: doc.Status, TotalAmount: doc.TotalAmount, Lines: []events.DocumentLine{}}
	data := events.ResultData{OrderID: rec.OrderID, OrderVersion: rec.OrderVersion, Action: events.RefundOrderTaxes,
		State: string(lifecycle.CommittedRefund), CauseEventID: in.EventID, Document: &d, Documents: []events.Document{d}}
	env, err := events.New(id, "taxbridge", events.TaxResult, rec.OrderID, time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(env)
	r.PublishRaw(bus.ResultSubject(rec.OrderID), raw, id)
}

// TestIntentRecovery covers each branch of finishing a sale's intent that
// a delivery left: the call never made, made and applied, made but the
// document not where the intent was going, a lease still held by a live
// delivery, and another writer changing the record during the call.
func TestIntentRecovery(t *testing.T) {
	const order = "WEB-IR"
	f := scenario.Returned(order)
	paid, create, commit := f.Events[0], f.Events[1], f.Events[3]
	tests := []struct {
		name string
		// before brings the order to the delivery that is interrupted.
		before []events.Envelope
		event  events.Envelope
		mode   string
		want   lifecycle.State
		status string // of the sale in AvaTax
		calls  int    // document-changing AvaTax calls in all
	}{
		{"create never made", []events.Envelope{paid}, create, crashBefore, lifecycle.Uncommitted, avatax.StatusSaved, 1},
		{"create made: the document is where the intent was going", []events.Envelope{paid}, create, crashAfter, lifecycle.Uncommitted, avatax.StatusSaved, 1},
		{"commit never made: the document is not where the intent was going", []events.Envelope{paid, create}, commit, crashBefore, lifecycle.Committed, avatax.StatusCommitted, 2},
		{"commit made", []events.Envelope{paid, create}, commit, crashAfter, lifecycle.Committed, avatax.StatusCommitted, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			for _, e := range tt.before {
				r.mustDeliver(e)
			}
			r.faults.set(order, tt.mode)
			if died, _ := r.deliver(tt.event); !died {
				t.Fatal("the delivery did not die")
			}
			r.faults.set("", pass)
			// A live delivery may still be making the call: not before
			// the lease has passed, and without any AvaTax call.
			calls := r.AvaTaxCalls()
			if _, err := r.deliver(tt.event); err == nil || r.AvaTaxCalls() != calls || r.Record(order).Intent == nil {
				t.Fatalf("within the lease: err %v, %d calls (was %d), intent %+v", err, r.AvaTaxCalls(), calls, r.Record(order).Intent)
			}
			r.clock.Add(r.lease)
			r.mustDeliver(tt.event)
			rec := r.Record(order)
			doc, ok := r.Sandbox.Document(r.Company, order, avatax.SalesInvoice)
			if rec.State != tt.want || rec.Intent != nil || !ok || doc.Status != tt.status {
				t.Errorf("state %s intent %+v document %v %s, want %s and %s", rec.State, rec.Intent, ok, doc.Status, tt.want, tt.status)
			}
			if n := r.AvaTaxCalls(); n != tt.calls {
				t.Errorf("%d AvaTax calls, want %d: a call that took effect was repeated, or one was lost", n, tt.calls)
			}
			results := 0
			for _, d := range r.Results(order) {
				if d.CauseEventID == tt.event.ID {
					results++
				}
			}
			if results != 1 {
				t.Errorf("%d results for %s, want 1", results, tt.event.ID)
			}
		})
	}

	t.Run("another writer during the call", func(t *testing.T) {
		r := newRig(t)
		r.mustDeliver(paid)
		r.faults.hook = func() {
			// A state change of the same order lands while AvaTax works.
			if _, _, err := r.Store.Update(r.Ctx, order, func(rec *store.Record) error {
				rec.MarkSeen("concurrent-state-change")
				return nil
			}); err != nil {
				t.Error(err)
			}
		}
		r.faults.set(order, meanwhile)
		r.mustDeliver(create)
		rec := r.Record(order)
		if rec.State != lifecycle.Uncommitted || rec.Intent != nil || rec.Sale == nil || !rec.HasSeen("concurrent-state-change") || !rec.HasSeen(create.ID) {
			t.Errorf("record %+v: want the outcome and the other writer's change both kept", rec)
		}
	})
}

// TestEveryActionIsAnswered: an action that needs no AvaTax call still
// gets one tax_result, with the state, no document and why; a repeat of it
// gets none.
func TestEveryActionIsAnswered(t *testing.T) {
	const order = "WEB-AN"
	f := scenario.Cancelled(order)
	paid, void := f.Events[0], f.Events[len(f.Events)-1]
	r := newRig(t)
	r.mustDeliver(paid)
	r.mustDeliver(void) // before any document
	r.mustDeliver(void) // again: a duplicate
	results := r.Results(order)
	if len(results) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(results), results)
	}
	got := results[0]
	if got.State != string(lifecycle.Void) || got.PreviousState != string(lifecycle.None) || got.Document != nil ||
		got.CauseEventID != void.ID || got.Note == "" || got.Action != events.VoidOrderTaxes {
		t.Errorf("result %+v, want void from none, no document, a note, caused by %s", got, void.ID)
	}
	if r.AvaTaxCalls() != 0 {
		t.Errorf("%d AvaTax calls for a void before any document", r.AvaTaxCalls())
	}
}

// TestDeferredRefundIsAuditedUnderItsEvent: the audit trail names the
// event an AvaTax call belongs to, also for a refund made during the
// commit's delivery.
func TestDeferredRefundIsAuditedUnderItsEvent(t *testing.T) {
	const order = "WEB-AU"
	r := newRig(t)
	commit, refund := deferredRefund(t, r, order)
	r.mustDeliver(commit)
	checkRefunded(t, r.Harness, order)
	var entries []audit.Entry
	r.Eventually("the refund's audit record", func() bool {
		var err error
		entries, err = audit.Read(r.Ctx, r.JS, order)
		return err == nil && slices.ContainsFunc(entries, func(e audit.Entry) bool { return e.DocumentCode == order+"-R1" })
	})
	for _, e := range entries {
		want := ""
		switch {
		case e.DocumentCode == order+"-R1":
			want = refund.ID
		case e.Operation == "commit":
			want = commit.ID
		default:
			continue
		}
		if e.EventID != want {
			t.Errorf("%s of %s audited under event %s, want %s", e.Operation, e.DocumentCode, e.EventID, want)
		}
	}
}

// TestRefundFinishedByAnotherEventIsAnsweredOnce: a refund whose delivery
// died with its intent written is finished by another event of the order;
// when the refund event comes again it is a duplicate, not a second
// answer.
func TestRefundFinishedByAnotherEventIsAnsweredOnce(t *testing.T) {
	const order = "WEB-R2"
	r := newRig(t)
	f := scenario.Returned(order)
	for _, e := range f.Events[:len(f.Events)-1] {
		r.mustDeliver(e)
	}
	refund := f.Events[len(f.Events)-1]
	r.faults.set(order+"-R1", crashBefore)
	if died, _ := r.deliver(refund); !died {
		t.Fatal("the refund's delivery did not die")
	}
	r.faults.set("", pass)
	r.clock.Add(r.lease)
	later := withOrder(t, f.Events[len(f.Events)-2], func(o *events.Order) { o.State = "returned" })
	later.ID = order + "-later-state-change"
	r.mustDeliver(later) // finishes the refund
	r.mustDeliver(refund)
	checkRefunded(t, r.Harness, order)
	answers := 0
	for _, d := range r.Results(order) {
		if d.CauseEventID == refund.ID {
			answers++
		}
	}
	for _, e := range r.TaxErrors(order) {
		if e.CauseEventID == refund.ID {
			answers++
		}
	}
	if answers != 1 {
		t.Errorf("%d answers to %s, want 1", answers, refund.ID)
	}
}

// lostOutcome is the order records, losing the write of an outcome (as if
// the process died right after publishing the result) while lose is set.
type lostOutcome struct {
	*store.Store
	lose atomic.Bool
}

var errLost = errors.New("simulated crash: the outcome was not written")

func (l *lostOutcome) Put(ctx context.Context, r *store.Record, rev uint64) (uint64, error) {
	if l.lose.Load() && r.Intent == nil {
		if cur, _, err := l.Store.Get(ctx, r.OrderID); err == nil && cur.Intent != nil {
			return 0, errLost
		}
	}
	return l.Store.Put(ctx, r, rev)
}

// TestResultPublishedOutcomeNotWritten: the result went out, the record
// kept the intent. The next delivery, once the lease has passed, finds the
// document, records the outcome and publishes the same result again under
// the same id, which the stream drops: one document, one result.
func TestResultPublishedOutcomeNotWritten(t *testing.T) {
	const order = "WEB-LO"
	r := newRig(t)
	records := &lostOutcome{Store: r.Store}
	cfg, err := taxconfig.Parse(taxconfig.Example)
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(records, bus.Publisher{JS: r.JS}, r.Validator, taxdoc.NewMapper(cfg), r.AvaTax,
		worker.WithIntentLease(r.lease), worker.WithClock(r.clock.Now), worker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	deliver := func(e events.Envelope) error {
		raw, _ := json.Marshal(e)
		in, err := r.Validator.Inbound(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Process(r.Ctx, &in)
		return err
	}
	f := scenario.HomeDelivery(order)
	paid, create := f.Events[0], f.Events[1]
	if err := deliver(paid); err != nil {
		t.Fatal(err)
	}
	records.lose.Store(true)
	if err := deliver(create); !errors.Is(err, errLost) {
		t.Fatalf("delivery: %v, want the lost outcome", err)
	}
	records.lose.Store(false)
	if len(r.Results(order)) != 1 || r.Record(order).Intent == nil {
		t.Fatalf("after the crash: %d results, intent %+v; want the result out and the intent kept", len(r.Results(order)), r.Record(order).Intent)
	}
	r.clock.Add(r.lease)
	if err := deliver(create); err != nil {
		t.Fatal(err)
	}
	rec := r.Record(order)
	if rec.State != lifecycle.Uncommitted || rec.Intent != nil || !rec.HasSeen(create.ID) {
		t.Errorf("record: state %s intent %+v, want uncommitted and done", rec.State, rec.Intent)
	}
	if n := len(r.Results(order)); n != 1 {
		t.Errorf("%d results, want 1", n)
	}
	if calls := r.Sandbox.Calls()["createoradjust"]; calls != 1 {
		t.Errorf("%d createoradjust calls, want 1", calls)
	}
}
