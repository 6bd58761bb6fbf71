//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
)

// codeRefundBeforeCommit is the tax error of a refund that waits for the
// commit: not an answer, the refund's result comes later.
const codeRefundBeforeCommit = "refund_before_commit"

// expectedDoc is a document an order must have in AvaTax.
type expectedDoc struct {
	Code, Type, Status string
	// Amount is the document's total; nil when not checked (a cancelled
	// sale keeps whatever it held when voided).
	Amount *decimal.Decimal
}

func (d expectedDoc) String() string {
	s := fmt.Sprintf("%s %s %s", d.Type, d.Code, d.Status)
	if d.Amount != nil {
		s += " " + d.Amount.StringFixed(2)
	}
	return s
}

// expectation is what one order must end with, derived from its flow.
type expectation struct {
	orderID, flow string
	final         lifecycle.State
	sale          expectedDoc
	returns       []expectedDoc
	actions       []events.Envelope // workflow actions, each to be answered
	changes       []events.Envelope // state changes
	versions      map[string]int64  // order_version of every event, by id
}

// expect derives the expectation of an order from its flow: the final
// state, and the documents the final snapshot makes under the tax
// configuration (each group's share of its item's price, shipping fees;
// each return refunds its groups' share).
func expect(f flowInfo, tc *taxconfig.Config) (expectation, error) {
	e := expectation{orderID: f.orderID, flow: f.name, final: f.final, versions: map[string]int64{}}
	var last events.OrderEvent
	var refunds []events.Return
	for _, env := range f.events {
		var d events.OrderEvent
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return e, fmt.Errorf("event %s: %w", env.ID, err)
		}
		e.versions[env.ID] = d.OrderVersion
		if env.Type.IsAction() {
			e.actions = append(e.actions, env)
		} else {
			e.changes = append(e.changes, env)
		}
		if d.Return != nil {
			refunds = append(refunds, *d.Return)
		}
		if d.OrderVersion >= last.OrderVersion {
			last = d
		}
	}
	o := last.Order
	share := func(g events.LineItemGroup) decimal.Decimal {
		for _, it := range o.OrderItems {
			if it.ID == g.OrderItemID && it.Quantity > 0 {
				return it.PricingDetails.Price.Mul(decimal.NewFromInt(int64(g.Quantity))).Div(decimal.NewFromInt(int64(it.Quantity))).Round(2)
			}
		}
		return decimal.Zero
	}
	total := decimal.Zero
	for _, g := range o.LineItemGroups {
		if !tc.IsRemoved(g.State) {
			total = total.Add(share(g))
		}
	}
	shipping := decimal.Zero
	for _, fee := range o.ShippingFees {
		shipping = shipping.Add(fee.Price)
	}
	total = total.Add(shipping)
	e.sale = expectedDoc{Code: f.orderID, Type: avatax.SalesInvoice, Status: avatax.StatusCommitted, Amount: &total}
	if f.final == lifecycle.Void {
		e.sale.Status, e.sale.Amount = avatax.StatusCancelled, nil
	}
	for i, r := range refunds {
		amount := decimal.Zero
		for _, g := range o.LineItemGroups {
			if slices.Contains(r.LineItemGroupIDs, g.ID) {
				amount = amount.Sub(share(g))
			}
		}
		if r.RefundShipping {
			amount = amount.Sub(shipping)
		}
		e.returns = append(e.returns, expectedDoc{Code: fmt.Sprintf("%s-R%d", f.orderID, i+1),
			Type: avatax.ReturnInvoice, Status: avatax.StatusCommitted, Amount: &amount})
	}
	return e, nil
}

// flowInfo is what the judge needs of a flow.
type flowInfo struct {
	orderID, name string
	final         lifecycle.State
	events        []events.Envelope
}

// evidence is what the sources say about one order.
type evidence struct {
	docs    []avaDoc // current versions, Adjusted ones left out
	answers []answer // in stream order
	dead    []deadLetter
	rec     *record
}

// OrderFinding is the verdict on one wrong order, with what the sources
// show.
type OrderFinding struct {
	Order     string   `json:"order"`
	Flow      string   `json:"flow"`
	Reasons   []string `json:"reasons"`
	Documents []string `json:"documents"`
	Answers   []string `json:"answers"`
	Record    string   `json:"record"`
}

// orderVerdict is the judge's word on one order.
type orderVerdict struct {
	right bool
	// voidedEarly: a cancelled order whose void overtook the refresh that
	// would have created its document, so none was ever made.
	voidedEarly bool
	duplicates  []string // documents beyond the expected ones
	lost        []string // events never applied
	unanswered  []string // actions with no result and no error but a deferral
	extra       []string // actions answered more than once
	finding     OrderFinding
}

// judgeOrder compares what the sources show with the expectation.
func judgeOrder(e expectation, ev evidence) orderVerdict {
	v := orderVerdict{finding: OrderFinding{Order: e.orderID, Flow: e.flow}}
	var reasons []string
	fail := func(format string, a ...any) { reasons = append(reasons, fmt.Sprintf(format, a...)) }

	// The last tax_result is what the OMS wrote back last.
	var lastResult *answer
	for i := range ev.answers {
		if ev.answers[i].Type == string(events.TaxResult) {
			lastResult = &ev.answers[i]
		}
	}
	final := string(e.final)
	switch {
	case ev.rec == nil:
		fail("no record in tax_orders")
	case ev.rec.State != final:
		fail("record state %s, want %s", ev.rec.State, final)
	}
	if ev.rec != nil && ev.rec.Intent != nil {
		fail("record still holds an intent (%s %s of event %s)", ev.rec.Intent.Effect, ev.rec.Intent.Code, ev.rec.Intent.EventID)
	}
	if lastResult == nil {
		fail("no tax_result")
	} else if lastResult.Data.State != final {
		fail("last tax_result (%s) says state %s, want %s", lastResult.ID, lastResult.Data.State, final)
	}

	// Documents: exactly the expected ones.
	matched := make([]bool, len(ev.docs))
	find := func(code, typ string) *avaDoc {
		for i, d := range ev.docs {
			if strings.EqualFold(d.Code, code) && d.Type == typ && !matched[i] {
				matched[i] = true
				return &ev.docs[i]
			}
		}
		return nil
	}
	check := func(want expectedDoc, got *avaDoc) {
		if got.Status != want.Status {
			fail("%s %s is %s, want %s", got.Type, got.Code, got.Status, want.Status)
		}
		if want.Amount != nil && !got.TotalAmount.Equal(*want.Amount) {
			fail("%s %s totals %s, want %s", got.Type, got.Code, got.TotalAmount.StringFixed(2), want.Amount.StringFixed(2))
		}
	}
	if sale := find(e.sale.Code, e.sale.Type); sale != nil {
		check(e.sale, sale)
	} else if e.final == lifecycle.Void && ev.rec != nil && ev.rec.State == final && ev.rec.Sale == nil {
		// The void came first: nothing to void, and the refresh after it is
		// stale. No document is then the right outcome.
		v.voidedEarly = true
	} else {
		fail("no %s", e.sale)
	}
	for _, want := range e.returns {
		if got := find(want.Code, want.Type); got != nil {
			check(want, got)
		} else {
			fail("no %s", want)
		}
	}
	for i, d := range ev.docs {
		if !matched[i] {
			v.duplicates = append(v.duplicates, fmt.Sprintf("%s %s %s", d.Type, d.Code, d.Status))
			fail("unexpected document %s %s (%s)", d.Type, d.Code, d.Status)
		}
	}

	// The write-back: the last result lists the documents AvaTax holds.
	if lastResult != nil {
		var said, has []string
		for _, d := range lastResult.Data.Documents {
			said = append(said, fmt.Sprintf("%s %s %s", d.Type, d.Code, d.Status))
		}
		for _, d := range ev.docs {
			has = append(has, fmt.Sprintf("%s %s %s", d.Type, d.Code, d.Status))
		}
		sort.Strings(said)
		sort.Strings(has)
		if !slices.Equal(said, has) {
			fail("last tax_result lists [%s], AvaTax has [%s]", strings.Join(said, ", "), strings.Join(has, ", "))
		}
	}

	// Every action answered; every state change taken in.
	byCause := map[string][]answer{}
	for _, a := range ev.answers {
		c := strings.TrimSuffix(a.Data.CauseEventID, copySuffix)
		c = strings.TrimSuffix(c, "/refund") // a refund made once the sale is committed
		byCause[c] = append(byCause[c], a)
	}
	for _, act := range e.actions {
		as := byCause[act.ID]
		if len(as) == 0 {
			v.lost = append(v.lost, act.ID)
			fail("action %s has no tax_result or tax_error", act.ID)
			continue
		}
		var answers []string
		for _, a := range as {
			if a.Type == string(events.TaxResult) || a.Data.Code != codeRefundBeforeCommit {
				answers = append(answers, a.ID)
			}
		}
		switch {
		case len(answers) == 0:
			v.unanswered = append(v.unanswered, act.ID)
			fail("action %s only got %s", act.ID, codeRefundBeforeCommit)
		case len(answers) > 1:
			// Consistent answers, but the README promises exactly one.
			v.extra = append(v.extra, fmt.Sprintf("%s: %s", act.ID, strings.Join(answers, ", ")))
		}
	}
	for _, ch := range e.changes {
		if ev.rec != nil && ev.rec.OrderVersion < e.versions[ch.ID] {
			v.lost = append(v.lost, ch.ID)
			fail("state change %s (version %d) not taken in: record at version %d", ch.ID, e.versions[ch.ID], ev.rec.OrderVersion)
		}
	}
	for _, d := range ev.dead {
		fail("dead letter %s: %s", d.EventID, d.Reason)
	}

	v.right = len(reasons) == 0
	v.finding.Reasons = reasons
	for _, d := range ev.docs {
		v.finding.Documents = append(v.finding.Documents, fmt.Sprintf("%s %s %s v%d total %s", d.Type, d.Code, d.Status, d.Version, d.TotalAmount.StringFixed(2)))
	}
	for _, a := range ev.answers {
		s := fmt.Sprintf("#%d %s %s ← %s: state %s", a.Seq, a.Type, a.Data.Action, a.Data.CauseEventID, a.Data.State)
		if a.Data.Code != "" {
			s += " code " + a.Data.Code
		}
		if a.Data.Document != nil {
			s += fmt.Sprintf(" document %s %s", a.Data.Document.Code, a.Data.Document.Status)
		}
		if a.Data.Note != "" {
			s += " (" + a.Data.Note + ")"
		}
		v.finding.Answers = append(v.finding.Answers, s)
	}
	if ev.rec != nil {
		raw, _ := json.Marshal(ev.rec)
		v.finding.Record = string(raw)
	}
	return v
}

// returnCode matches the code of a return document: <sale code>-R<n>.
var returnCode = regexp.MustCompile(`^(.*)-R[0-9]+$`)

// docOrder attributes a document to one of the orders by its code.
func docOrder(code string, orders map[string]bool) (string, bool) {
	if orders[code] {
		return code, true
	}
	if m := returnCode.FindStringSubmatch(code); m != nil && orders[m[1]] {
		return m[1], true
	}
	return "", false
}
