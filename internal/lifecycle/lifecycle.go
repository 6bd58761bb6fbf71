// Package lifecycle is the per-order tax state machine. It decides; it does
// no I/O. The worker performs the effect a Decision names.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/looplab/fsm"
)

// State is the tax state of an order.
type State string

// The tax states of an order.
const (
	None            State = "none" // no document yet
	Uncommitted     State = "uncommitted"
	Committed       State = "committed"
	CommittedRefund State = "committed_refund"
	Void            State = "void"
)

// States lists every state.
var States = []State{None, Uncommitted, Committed, CommittedRefund, Void}

// Action is a workflow action the OMS asks for.
type Action string

// The workflow actions.
const (
	Refresh Action = "refresh_order_taxes"
	Refund  Action = "refund_order_taxes"
	VoidTax Action = "void_order_taxes"
)

// Actions lists every action.
var Actions = []Action{Refresh, Refund, VoidTax}

// Facts are what the worker knows about the order when an action arrives.
type Facts struct {
	// Commitable: every parcel is in a commitable state and every line item
	// group outside a parcel is removed (or the order is an Order In Store).
	Commitable bool
	// ContentChanged: the tax-relevant content differs from what AvaTax last
	// received for this order's sale document.
	ContentChanged bool
	// OrderInStore: the order is a straight-fulfil Order In Store sale.
	OrderInStore bool
	// RecordingDisabled: the provider never commits documents.
	RecordingDisabled bool
}

// Effect is the AvaTax operation a decision needs.
type Effect string

// The effects.
const (
	NoEffect        Effect = ""                 // nothing to call
	CreateDocument  Effect = "create"           // createoradjust, commit=false
	CreateCommitted Effect = "create_committed" // createoradjust, commit=true: one call
	AdjustDocument  Effect = "adjust"           // createoradjust on the existing document
	CommitDocument  Effect = "commit"           // commit the unchanged document
	VoidDocument    Effect = "void"
	RefundDocument  Effect = "refund" // a ReturnInvoice for the returned lines
)

// Refusal codes, published with the tax error.
const (
	RefusedRefundBeforeCommit = "refund_before_commit"
	RefusedRefundOrderInStore = "refund_order_in_store"
	RefusedVoidCommitted      = "void_after_commit"
	RefusedOrderVoided        = "order_voided"
)

// Refusal explains why an action is refused in the current state.
type Refusal struct {
	Code    string
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

// Decision is the outcome of one action in one state.
type Decision struct {
	From, To State
	Effect   Effect
	Refusal  *Refusal // set when the action is refused; To == From then
}

// step is an action as the state machine sees it: a refresh splits on
// whether the order may be committed.
type step string

const (
	refresh    step = "refresh"            // a refresh of an order not yet commitable
	refreshAll step = "refresh_commitable" // a refresh of an order that may be committed
	refund     step = "refund"
	void       step = "void"
)

// rule is one cell of the table: what a step does in a state.
type rule struct {
	from State
	step step
	// to is the state it leads to; refused rules keep the state.
	to State
	// changed and unchanged are the AvaTax calls it needs when the
	// order's tax-relevant content changed since the last call, or not.
	changed, unchanged Effect
	// refused is the refusal code when the step is not allowed.
	refused string
}

// table is the tax state machine, one row per state and step. It is
// what a tax analyst checks; the FSM below is built from it.
var table = []rule{
	// from            step        → to               content changed   unchanged        refused
	{None, refresh, Uncommitted, CreateDocument, CreateDocument, ""},
	{None, refreshAll, Committed, CreateCommitted, CreateCommitted, ""},
	{None, refund, None, NoEffect, NoEffect, RefusedRefundBeforeCommit},
	{None, void, Void, NoEffect, NoEffect, ""},

	{Uncommitted, refresh, Uncommitted, AdjustDocument, NoEffect, ""},
	{Uncommitted, refreshAll, Committed, CreateCommitted, CommitDocument, ""},
	{Uncommitted, refund, Uncommitted, NoEffect, NoEffect, RefusedRefundBeforeCommit},
	{Uncommitted, void, Void, VoidDocument, VoidDocument, ""},

	// Committed tax is never modified: a refresh changes nothing.
	{Committed, refresh, Committed, NoEffect, NoEffect, ""},
	{Committed, refreshAll, Committed, NoEffect, NoEffect, ""},
	{Committed, refund, CommittedRefund, RefundDocument, RefundDocument, ""},
	{Committed, void, Committed, NoEffect, NoEffect, RefusedVoidCommitted},

	{CommittedRefund, refresh, CommittedRefund, NoEffect, NoEffect, ""},
	{CommittedRefund, refreshAll, CommittedRefund, NoEffect, NoEffect, ""},
	{CommittedRefund, refund, CommittedRefund, RefundDocument, RefundDocument, ""},
	{CommittedRefund, void, CommittedRefund, NoEffect, NoEffect, RefusedVoidCommitted},

	{Void, refresh, Void, NoEffect, NoEffect, RefusedOrderVoided},
	{Void, refreshAll, Void, NoEffect, NoEffect, RefusedOrderVoided},
	{Void, refund, Void, NoEffect, NoEffect, RefusedOrderVoided},
	{Void, void, Void, NoEffect, NoEffect, ""},
}

// machine is the looplab/fsm state machine of the allowed rules, built
// once; Decide sets its state, fires the step and reads where it went.
var machine = struct {
	sync.Mutex
	*fsm.FSM
}{FSM: newMachine()}

func newMachine() *fsm.FSM {
	var evs fsm.Events
	for _, r := range table {
		if r.refused == "" {
			evs = append(evs, fsm.EventDesc{Name: string(r.step), Src: []string{string(r.from)}, Dst: string(r.to)})
		}
	}
	return fsm.NewFSM(string(None), evs, nil)
}

// Decide returns what action a does in state s given the facts. It never
// fails: a refused action is a Decision with a Refusal.
func Decide(s State, a Action, f Facts) Decision {
	d := Decision{From: s, To: s}
	st, err := stepOf(a, f)
	if err != nil {
		d.Refusal = &Refusal{Code: "unknown_action", Message: err.Error()}
		return d
	}
	if a == Refund && f.OrderInStore {
		d.Refusal = refusal(RefusedRefundOrderInStore, s, a)
		return d
	}
	i := slices.IndexFunc(table, func(r rule) bool { return r.from == s && r.step == st })
	if i < 0 {
		d.Refusal = &Refusal{Code: "unknown_state", Message: fmt.Sprintf("no rule for %s in state %q", a, s)}
		return d
	}
	r := table[i]
	if r.refused != "" {
		d.Refusal = refusal(r.refused, s, a)
		return d
	}
	d.To = fire(s, st)
	d.Effect = r.unchanged
	if f.ContentChanged {
		d.Effect = r.changed
	}
	return d
}

// fire runs the step through the FSM from state s and returns the state
// it ends in.
func fire(s State, st step) State {
	machine.Lock()
	defer machine.Unlock()
	machine.SetState(string(s))
	// A step that stays in its state is a NoTransitionError: allowed.
	if err := machine.Event(context.Background(), string(st)); err != nil && !errors.As(err, &fsm.NoTransitionError{}) {
		panic(fmt.Sprintf("lifecycle: the table allows %s in %s but the FSM refuses it: %v", st, s, err))
	}
	return State(machine.Current())
}

func stepOf(a Action, f Facts) (step, error) {
	switch a {
	case Refresh:
		if f.Commitable && !f.RecordingDisabled {
			return refreshAll, nil
		}
		return refresh, nil
	case Refund:
		return refund, nil
	case VoidTax:
		return void, nil
	}
	return "", fmt.Errorf("unknown action %q", a)
}

// refusal explains a refusal code to the OMS.
func refusal(code string, s State, a Action) *Refusal {
	switch code {
	case RefusedRefundOrderInStore:
		return &Refusal{code, "refund_order_taxes does not apply to Order In Store sales; record the return as a new Order In Store sale with negative amounts or refund it in AvaTax directly"}
	case RefusedOrderVoided:
		return &Refusal{code, fmt.Sprintf("the order's tax was voided; %s cannot apply to a voided order", a)}
	case RefusedRefundBeforeCommit:
		return &Refusal{code, "nothing is committed yet, so there is nothing to refund; void the uncommitted tax or refresh it instead"}
	case RefusedVoidCommitted:
		return &Refusal{code, "the order's tax is committed and cannot be voided; use refund_order_taxes for the returned line item groups instead"}
	}
	return &Refusal{code, fmt.Sprintf("%s is not allowed in state %s", a, s)}
}
