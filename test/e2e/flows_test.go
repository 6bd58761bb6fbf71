package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

type wantLine struct {
	number string
	amount string
	rates  []string
}

func checkDoc(t *testing.T, d avatax.TransactionModel, typ, status string, lines []wantLine, negate bool) {
	t.Helper()
	if d.Type != typ || d.Status != status {
		t.Errorf("document %s: %s %s, want %s %s", d.Code, d.Type, d.Status, typ, status)
	}
	if len(d.Lines) != len(lines) {
		t.Fatalf("document %s has %d lines, want %d", d.Code, len(d.Lines), len(lines))
	}
	total, totalTax := decimal.Zero, decimal.Zero
	for i, w := range lines {
		l := d.Lines[i]
		amount, tax := decimal.RequireFromString(w.amount), taxOf(w.amount, w.rates)
		if negate {
			amount, tax = amount.Neg(), tax.Neg()
		}
		if l.LineNumber != w.number || !l.LineAmount.Equal(amount) || !l.Tax.Equal(tax) {
			t.Errorf("document %s line %d: %s amount %s tax %s, want %s amount %s tax %s",
				d.Code, i, l.LineNumber, l.LineAmount, l.Tax, w.number, amount, tax)
		}
		total, totalTax = total.Add(amount), totalTax.Add(tax)
	}
	if !d.TotalAmount.Equal(total) || !d.TotalTax.Equal(totalTax) {
		t.Errorf("document %s totals: amount %s tax %s, want %s and %s", d.Code, d.TotalAmount, d.TotalTax, total, totalTax)
	}
}

var homeDeliveryLines = []wantLine{
	{"LIG-1", "49.98", newYork}, {"LIG-2", "80.00", newYork}, {"SHIP-FEE-1", "5.00", newYork},
}

// runInOrder publishes a flow's events one by one, as the OMS would.
func runInOrder(h *workertest.Harness, f scenario.Flow) {
	for _, e := range f.Events {
		h.Publish(e)
		h.WaitApplied(f.OrderID, e.ID)
	}
}

func TestOneStockFlows(t *testing.T) {
	tests := []struct {
		flow  scenario.Flow
		check func(t *testing.T, h *workertest.Harness, f scenario.Flow)
	}{
		{scenario.StraightFulfil("OIS-1"), func(t *testing.T, h *workertest.Harness, f scenario.Flow) {
			d, ok := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
			if !ok {
				t.Fatal("no SalesInvoice")
			}
			checkDoc(t, d, avatax.SalesInvoice, avatax.StatusCommitted,
				[]wantLine{{"LIG-1", "36.00", seattle}, {"LIG-2", "15.50", seattle}}, false)
			if c := h.Sandbox.Calls()["createoradjust"]; c != 1 {
				t.Errorf("createoradjust calls = %d, want 1: one call creates the committed document", c)
			}
		}},
		{scenario.HomeDelivery("WEB-1"), func(t *testing.T, h *workertest.Harness, f scenario.Flow) {
			d, _ := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
			checkDoc(t, d, avatax.SalesInvoice, avatax.StatusCommitted, homeDeliveryLines, false)
			rec := h.Record(f.OrderID)
			var path []lifecycle.State
			for _, tr := range rec.History {
				if tr.From != tr.To {
					path = append(path, tr.To)
				}
			}
			if !slices.Equal(path, []lifecycle.State{lifecycle.Uncommitted, lifecycle.Committed}) {
				t.Errorf("transitions %v, want uncommitted then committed", path)
			}
		}},
		{scenario.Cancelled("WEB-2"), func(t *testing.T, h *workertest.Harness, f scenario.Flow) {
			d, ok := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
			if !ok || d.Status != avatax.StatusCancelled {
				t.Fatalf("sale document %v %s, want Cancelled", ok, d.Status)
			}
		}},
		{scenario.Returned("WEB-3"), func(t *testing.T, h *workertest.Harness, f scenario.Flow) {
			sale, _ := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice)
			checkDoc(t, sale, avatax.SalesInvoice, avatax.StatusCommitted, homeDeliveryLines, false)
			ret, ok := h.Sandbox.Document(h.Company, f.OrderID+"-R1", avatax.ReturnInvoice)
			if !ok {
				t.Fatal("no ReturnInvoice WEB-3-R1")
			}
			checkDoc(t, ret, avatax.ReturnInvoice, avatax.StatusCommitted, []wantLine{{"LIG-2", "80.00", newYork}}, true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.flow.Name, func(t *testing.T) {
			h := start(t)
			runInOrder(h, tt.flow)
			rec := h.Record(tt.flow.OrderID)
			if rec.State != tt.flow.Final || rec.Intent != nil {
				t.Fatalf("record: state %s intent %+v, want %s and no intent", rec.State, rec.Intent, tt.flow.Final)
			}
			if n := h.AvaTaxCalls(); n != tt.flow.Calls {
				t.Errorf("AvaTax calls = %d (%v), want the minimum %d", n, h.Sandbox.Calls(), tt.flow.Calls)
			}
			tt.check(t, h, tt.flow)
			checkResults(t, h, tt.flow)
		})
	}
}

// checkResults verifies the write-back events: one per AvaTax effect, the
// last one in the final state with the tax of every line.
func checkResults(t *testing.T, h *workertest.Harness, f scenario.Flow) {
	t.Helper()
	res := h.Results(f.OrderID)
	if len(res) != f.Calls {
		t.Fatalf("%d results on %s, want one per AvaTax call (%d)", len(res), bus.ResultSubject(f.OrderID), f.Calls)
	}
	last := res[len(res)-1]
	if last.State != string(f.Final) || last.OrderID != f.OrderID {
		t.Errorf("last result: order %s state %s, want %s", last.OrderID, last.State, f.Final)
	}
	doc, ok := h.Sandbox.Document(h.Company, last.Document.Code, last.Document.Type)
	if !ok {
		t.Fatalf("result names document %s %s, which AvaTax does not have", last.Document.Code, last.Document.Type)
	}
	if !last.Document.TotalTax.Equal(doc.TotalTax) || len(last.Document.Lines) != len(doc.Lines) {
		t.Errorf("result document tax %s with %d lines; AvaTax has %s with %d", last.Document.TotalTax, len(last.Document.Lines), doc.TotalTax, len(doc.Lines))
	}
	for i, l := range last.Document.Lines {
		if !l.Tax.Equal(doc.Lines[i].Tax) {
			t.Errorf("result line %s %s tax %s, AvaTax %s", l.Kind, l.ID, l.Tax, doc.Lines[i].Tax)
		}
		if strings.HasPrefix(doc.Lines[i].LineNumber, "SHIP-") != (l.Kind == events.ShippingFeeLine) {
			t.Errorf("result line %s: kind %s", l.ID, l.Kind)
		}
	}
}

// outcome is what a flow leaves behind that a person would check: the
// order's state and the documents that carry tax (cancelled ones do not).
type outcome struct {
	state lifecycle.State
	docs  []string
}

func outcomeOf(h *workertest.Harness, orderID string) outcome {
	o := outcome{state: h.Record(orderID).State}
	for _, d := range h.Sandbox.Documents(h.Company) {
		if !strings.HasPrefix(d.Code, orderID) || d.Status == avatax.StatusCancelled {
			continue
		}
		o.docs = append(o.docs, fmt.Sprintf("%s %s %s amount %s tax %s", d.Type, d.Code, d.Status, d.TotalAmount, d.TotalTax))
	}
	sort.Strings(o.docs)
	return o
}

// TestDuplicatedAndShuffledEvents publishes every event twice (once with
// the same message id, once as a redelivery the broker cannot recognise)
// in shuffled order, and expects the same outcome as in-order delivery,
// with no document created twice.
func TestDuplicatedAndShuffledEvents(t *testing.T) {
	for _, f := range scenario.OneStock("") {
		t.Run(f.Name, func(t *testing.T) {
			ref := start(t)
			runInOrder(ref, f)
			want := outcomeOf(ref, f.OrderID)

			for seed := uint64(1); seed <= 3; seed++ {
				h := start(t)
				evs := slices.Clone(f.Events)
				evs = append(evs, evs...)
				rand.New(rand.NewPCG(seed, 42)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
				ids := map[string]bool{}
				for _, e := range evs {
					if ids[e.ID] {
						// A copy the broker's dedup cannot catch: same event id, new message id.
						raw, _ := jsonOf(e)
						h.PublishRaw(bus.EventSubject(e.Type, e.Subject), raw, e.ID+"/again")
					} else {
						h.Publish(e)
					}
					h.Publish(e) // dropped by the stream's duplicate window
					ids[e.ID] = true
				}
				h.WaitIdle()
				// Every action is recorded as applied; a state change that
				// arrives after a newer snapshot changes nothing and is
				// not (the worker's unchanged outcome).
				var actions []string
				for _, e := range f.Events {
					if e.Type.IsAction() {
						actions = append(actions, e.ID)
					}
				}
				h.WaitApplied(f.OrderID, actions...)
				h.WaitIdle()
				got := outcomeOf(h, f.OrderID)
				if got.state != want.state || !slices.Equal(got.docs, want.docs) {
					t.Errorf("seed %d: outcome %+v, want %+v", seed, got, want)
				}
				if n, w := countType(h, avatax.ReturnInvoice), countType(ref, avatax.ReturnInvoice); n != w {
					t.Errorf("seed %d: %d ReturnInvoices, want %d", seed, n, w)
				}
			}
		})
	}
}

// TestStateChangeWithNothingNewIsNotWritten: the line item group changes an
// OMS raises with an order or parcel change carry its snapshot; the record
// already holds it, so they are acknowledged without a write, and the flow
// goes on as before.
func TestStateChangeWithNothingNewIsNotWritten(t *testing.T) {
	h := start(t)
	f := scenario.HomeDelivery("SAME-1")
	first := f.Events[0]
	if first.Type.IsAction() {
		t.Fatalf("flow starts with %s, want a state change", first.Type)
	}
	h.Publish(first)
	h.WaitApplied(f.OrderID, first.ID)
	_, rev, err := h.Store.Get(h.Ctx, f.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	var d events.OrderEvent
	if err := decode(first.Data, &d); err != nil {
		t.Fatal(err)
	}
	g := d.Order.LineItemGroups[0]
	d.Workflow, d.EntityID, d.PreviousState, d.State = "", g.ID, "", g.State
	same, err := events.New(first.ID+"-"+g.ID, first.Source, events.LineItemGroupStateChanged, first.Subject, first.Time, d)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := bus.Publish(h.Ctx, h.JS, bus.EventSubject(same.Type, same.Subject), same, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Eventually("event "+same.ID+" acknowledged", func() bool {
		info, err := h.Res.Consumer.Info(h.Ctx)
		return err == nil && info.AckFloor.Stream >= ack.Sequence
	})
	rec, now, err := h.Store.Get(h.Ctx, f.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if now != rev || rec.HasSeen(same.ID) {
		t.Errorf("record revision %d → %d, event seen %v: want it left as it was", rev, now, rec.HasSeen(same.ID))
	}
	if n := len(h.Messages(bus.DLQStream, ">")); n != 0 {
		t.Errorf("%d dead letters", n)
	}
	runInOrder(h, scenario.Flow{OrderID: f.OrderID, Events: f.Events[1:]})
	if rec := h.Record(f.OrderID); rec.State != f.Final {
		t.Errorf("order ended %s, want %s", rec.State, f.Final)
	}
}
