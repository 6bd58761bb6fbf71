//go:build unix

package main

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
)

func mustExpect(t *testing.T, f scenario.Flow) expectation {
	t.Helper()
	tc, err := taxconfig.Parse(taxconfig.Example)
	if err != nil {
		t.Fatal(err)
	}
	e, err := expect(flowInfo{orderID: f.OrderID, name: f.Name, final: f.Final, events: f.Events}, tc)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExpectedDocumentsOfTheFlows(t *testing.T) {
	// The totals of the README's demo output and of the flows' prices.
	for _, tt := range []struct {
		flow    scenario.Flow
		sale    string
		returns []string
	}{
		{scenario.StraightFulfil("A"), "SalesInvoice A Committed 51.50", nil},
		{scenario.HomeDelivery("B"), "SalesInvoice B Committed 134.98", nil},
		{scenario.Cancelled("C"), "SalesInvoice C Cancelled", nil},
		{scenario.Returned("D"), "SalesInvoice D Committed 134.98", []string{"ReturnInvoice D-R1 Committed -80.00"}},
		{scenario.PartialCancel("E"), "SalesInvoice E Committed 54.98", nil},
	} {
		e := mustExpect(t, tt.flow)
		var returns []string
		for _, r := range e.returns {
			returns = append(returns, r.String())
		}
		if e.sale.String() != tt.sale || !slices.Equal(returns, tt.returns) {
			t.Errorf("%s: sale %q returns %q, want %q %q", tt.flow.Name, e.sale, returns, tt.sale, tt.returns)
		}
	}
}

// evidenceOf is what a correct run shows for a flow.
func evidenceOf(e expectation) evidence {
	var ev evidence
	docs := append([]expectedDoc{e.sale}, e.returns...)
	var listed []resultDoc
	for i, d := range docs {
		amount := decimal.NewFromInt(1)
		if d.Amount != nil {
			amount = *d.Amount
		}
		ev.docs = append(ev.docs, avaDoc{ID: int64(i + 1), Code: d.Code, Type: d.Type, Status: d.Status, Version: 1, TotalAmount: amount})
		listed = append(listed, resultDoc{Code: d.Code, Type: d.Type, Status: d.Status})
	}
	for i, a := range e.actions {
		var r answer
		r.Seq, r.ID, r.Type = uint64(i+1), a.ID+"/done", string(events.TaxResult)
		r.Data.OrderID, r.Data.Action, r.Data.CauseEventID, r.Data.State = e.orderID, string(a.Type), a.ID, string(e.final)
		r.Data.Documents = listed
		ev.answers = append(ev.answers, r)
	}
	ev.rec = &record{OrderID: e.orderID, State: string(e.final), OrderVersion: slices.Max(mapValues(e.versions))}
	return ev
}

func mapValues(m map[string]int64) []int64 {
	var out []int64
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestJudgeOrder(t *testing.T) {
	ret := mustExpect(t, scenario.Returned("R"))
	cancelled := mustExpect(t, scenario.Cancelled("C"))
	refund := ret.actions[len(ret.actions)-1]
	tests := []struct {
		name   string
		exp    expectation
		change func(*evidence)
		want   string // a reason the verdict must give; "" = right
		check  func(*testing.T, orderVerdict)
	}{
		{name: "right", exp: ret, change: func(*evidence) {}},
		{name: "deferred refund answered later", exp: ret, change: func(ev *evidence) {
			// The refund first gets refund_before_commit, then its result
			// names "<event>/refund".
			last := ev.answers[len(ev.answers)-1]
			var deferral answer
			deferral.Type, deferral.ID = string(events.TaxError), refund.ID+"/error"
			deferral.Data.CauseEventID, deferral.Data.Code, deferral.Data.OrderID = refund.ID, codeRefundBeforeCommit, "R"
			last.Data.CauseEventID = refund.ID + "/refund"
			ev.answers = append(ev.answers[:len(ev.answers)-1], deferral, last)
		}},
		{name: "refund only deferred", exp: ret, change: func(ev *evidence) {
			ev.answers[len(ev.answers)-1].Type = string(events.TaxError)
			ev.answers[len(ev.answers)-1].Data.Code = codeRefundBeforeCommit
		}, want: "only got refund_before_commit", check: func(t *testing.T, v orderVerdict) {
			if len(v.unanswered) != 1 || len(v.lost) != 0 {
				t.Errorf("unanswered %v lost %v", v.unanswered, v.lost)
			}
		}},
		{name: "action lost", exp: ret, change: func(ev *evidence) { ev.answers = ev.answers[1:] },
			want: "has no tax_result or tax_error", check: func(t *testing.T, v orderVerdict) {
				if len(v.lost) != 1 {
					t.Errorf("lost %v", v.lost)
				}
			}},
		{name: "second refund document", exp: ret, change: func(ev *evidence) {
			ev.docs = append(ev.docs, avaDoc{Code: "R-R2", Type: "ReturnInvoice", Status: "Committed"})
		}, want: "unexpected document ReturnInvoice R-R2", check: func(t *testing.T, v orderVerdict) {
			if len(v.duplicates) != 1 {
				t.Errorf("duplicates %v", v.duplicates)
			}
		}},
		{name: "sale left uncommitted", exp: ret, change: func(ev *evidence) { ev.docs[0].Status = "Saved" },
			want: "SalesInvoice R is Saved, want Committed"},
		{name: "refund of the wrong amount", exp: ret, change: func(ev *evidence) { ev.docs[1].TotalAmount = decimal.RequireFromString("-134.98") },
			want: "totals -134.98, want -80.00"},
		{name: "no refund document", exp: ret, change: func(ev *evidence) { ev.docs = ev.docs[:1] },
			want: "no ReturnInvoice R-R1"},
		{name: "record in another state", exp: ret, change: func(ev *evidence) { ev.rec.State = "committed" },
			want: "record state committed"},
		{name: "record holds an intent", exp: ret, change: func(ev *evidence) {
			ev.rec.Intent = &struct {
				EventID string `json:"event_id"`
				Effect  string `json:"effect"`
				Code    string `json:"code"`
				At      string `json:"at"`
			}{EventID: refund.ID, Effect: "refund", Code: "R-R1"}
		}, want: "still holds an intent"},
		{name: "write-back disagrees with AvaTax", exp: ret, change: func(ev *evidence) {
			ev.answers[len(ev.answers)-1].Data.Documents = ev.answers[len(ev.answers)-1].Data.Documents[:1]
		}, want: "last tax_result lists"},
		{name: "dead letter", exp: ret, change: func(ev *evidence) {
			ev.dead = []deadLetter{{EventID: refund.ID, Reason: "gave up"}}
		}, want: "dead letter"},
		{name: "answered twice is right but counted", exp: ret, change: func(ev *evidence) {
			again := ev.answers[0]
			again.ID += "-again"
			ev.answers = append(ev.answers, again)
			slices.SortStableFunc(ev.answers, func(a, b answer) int { return strings.Compare(a.Data.CauseEventID, b.Data.CauseEventID) })
			ev.answers = append(ev.answers, ev.answers[len(ev.answers)-1]) // keep a result of the final state last
		}, check: func(t *testing.T, v orderVerdict) {
			if len(v.extra) == 0 {
				t.Error("an action answered twice was not counted")
			}
		}},
		{name: "void before any document", exp: cancelled, change: func(ev *evidence) {
			ev.docs = nil
			for i := range ev.answers {
				ev.answers[i].Data.Documents = nil
			}
		}, check: func(t *testing.T, v orderVerdict) {
			if !v.voidedEarly {
				t.Error("not counted as voided before create")
			}
		}},
		{name: "void with the sale left Saved", exp: cancelled, change: func(ev *evidence) { ev.docs[0].Status = "Saved" },
			want: "SalesInvoice C is Saved, want Cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := evidenceOf(tt.exp)
			tt.change(&ev)
			v := judgeOrder(tt.exp, ev)
			reasons := strings.Join(v.finding.Reasons, "; ")
			if tt.want == "" && !v.right {
				t.Errorf("judged wrong: %s", reasons)
			}
			if tt.want != "" && (v.right || !strings.Contains(reasons, tt.want)) {
				t.Errorf("reasons %q, want one with %q", reasons, tt.want)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

func TestRefundBeforeCommit(t *testing.T) {
	f := scenario.Returned("X")
	moved, ok := refundBeforeCommit(f.Events)
	if !ok {
		t.Fatal("not moved")
	}
	var types []events.Type
	for _, e := range moved {
		types = append(types, e.Type)
	}
	want := []events.Type{events.OrderStateChanged, events.RefreshOrderTaxes, events.LineItemGroupStateChanged,
		events.RefundOrderTaxes, events.ParcelStateChanged, events.RefreshOrderTaxes}
	if !slices.Equal(types, want) {
		t.Errorf("order %v, want %v", types, want)
	}
	if _, ok := refundBeforeCommit(scenario.HomeDelivery("Y").Events); ok {
		t.Error("moved a flow without a return")
	}
}

func TestScheduleKeepsEveryOrdersSequenceAndCopies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := ShortConfig()
	cfg.Orders, cfg.EarlyRefunds = 25, 1
	orders := planOrders(&cfg, "T", rng)
	msgs := schedule(orders, 7, rng)
	total := 0
	for _, o := range orders {
		total += 2 * len(o.flow.Events)
		if o.flow.Final != lifecycle.CommittedRefund && o.earlyRefund {
			t.Errorf("%s: early refund in a flow without a return", o.flow.OrderID)
		}
	}
	if len(msgs) != total {
		t.Fatalf("%d messages, want %d (every event twice)", len(msgs), total)
	}
	// Per order, the originals keep their sequence and every copy comes
	// after its original, under another Nats-Msg-Id.
	seen := map[string]bool{}
	next := map[string]int{}
	for _, m := range msgs {
		if m.copy {
			if !seen[m.env.ID] || m.msgID != m.env.ID+copySuffix {
				t.Fatalf("copy of %s before its original or with msg id %s", m.env.ID, m.msgID)
			}
			continue
		}
		seen[m.env.ID] = true
		var o *order
		for _, c := range orders {
			if c.flow.OrderID == m.env.Subject {
				o = c
			}
		}
		var originals []message
		for _, s := range o.sequence {
			if !s.copy {
				originals = append(originals, s)
			}
		}
		if originals[next[m.env.Subject]].env.ID != m.env.ID {
			t.Fatalf("%s out of its order's sequence", m.env.ID)
		}
		next[m.env.Subject]++
	}
}

func TestReportSaysWhatIsWrong(t *testing.T) {
	rep := &Report{Orders: 2, Right: 1, Wrong: 1, Drained: true, DuplicateDocuments: 1,
		Duplicates:   []string{"X-1: ReturnInvoice X-1-R2 Committed"},
		AnsweredMore: []string{"X-1-v3-refund_order_taxes: a, b"},
		WrongOrders: []OrderFinding{{Order: "X-1", Flow: "returned", Reasons: []string{"unexpected document ReturnInvoice X-1-R2 (Committed)"},
			Documents: []string{"ReturnInvoice X-1-R2 Committed v1 total -80.00"}, Record: `{"state":"committed_refund"}`}}}
	if !rep.Failed() {
		t.Fatal("a wrong order does not fail the run")
	}
	var b strings.Builder
	rep.WriteTable(&b)
	for _, want := range []string{"wrong                    1", "duplicates: X-1: ReturnInvoice X-1-R2", "wrong X-1 (returned): unexpected document",
		"avatax   ReturnInvoice X-1-R2", "answered more than once: X-1-v3-refund_order_taxes", "FAIL: 1/2 orders right"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if !(&Report{Orders: 1, Right: 1, Drained: true, ActionsAnsweredMore: 1}).Failed() {
		t.Error("an action answered twice passes the run: every action gets exactly one answer")
	}
}
