// Package lifecycle is the per-order tax state machine. It decides; it does
// no I/O. The worker performs the effect a Decision names.
package lifecycle

import (
	"context"
	"errors"
	"fmt"

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

// fsm event names: refresh splits on commitability, which selects the target.
const (
	evRefresh       = "refresh"
	evRefreshCommit = "refresh_commitable"
	evRefund        = "refund"
	evVoid          = "void"
)

var transitions = fsm.Events{
	{Name: evRefresh, Src: []string{string(None), string(Uncommitted)}, Dst: string(Uncommitted)},
	{Name: evRefresh, Src: []string{string(Committed)}, Dst: string(Committed)},
	{Name: evRefresh, Src: []string{string(CommittedRefund)}, Dst: string(CommittedRefund)},
	{Name: evRefreshCommit, Src: []string{string(None), string(Uncommitted), string(Committed)}, Dst: string(Committed)},
	{Name: evRefreshCommit, Src: []string{string(CommittedRefund)}, Dst: string(CommittedRefund)},
	{Name: evRefund, Src: []string{string(Committed), string(CommittedRefund)}, Dst: string(CommittedRefund)},
	{Name: evVoid, Src: []string{string(None), string(Uncommitted), string(Void)}, Dst: string(Void)},
}

// Decide returns what action a does in state s given the facts. It never
// fails: a refused action is a Decision with a Refusal.
func Decide(s State, a Action, f Facts) Decision {
	d := Decision{From: s, To: s}
	ev, err := event(a, f)
	if err != nil {
		d.Refusal = &Refusal{Code: "unknown_action", Message: err.Error()}
		return d
	}
	if a == Refund && f.OrderInStore {
		d.Refusal = refusal(s, a, f)
		return d
	}
	m := fsm.NewFSM(string(s), transitions, nil)
	switch err := m.Event(context.Background(), ev); {
	case err == nil, errors.As(err, &fsm.NoTransitionError{}):
	default:
		d.Refusal = refusal(s, a, f)
		return d
	}
	d.To = State(m.Current())
	d.Effect = effect(s, d.To, a, f)
	return d
}

func event(a Action, f Facts) (string, error) {
	switch a {
	case Refresh:
		if f.Commitable && !f.RecordingDisabled {
			return evRefreshCommit, nil
		}
		return evRefresh, nil
	case Refund:
		return evRefund, nil
	case VoidTax:
		return evVoid, nil
	}
	return "", fmt.Errorf("unknown action %q", a)
}

// effect is the AvaTax call that moves the order from one state to the other.
func effect(from, to State, a Action, f Facts) Effect {
	switch {
	case a == Refund:
		return RefundDocument
	case a == VoidTax && from == Uncommitted:
		return VoidDocument
	case a != Refresh:
		return NoEffect
	case from == None && to == Uncommitted:
		return CreateDocument
	case from == None && to == Committed:
		return CreateCommitted
	case from == Uncommitted && to == Uncommitted && f.ContentChanged:
		return AdjustDocument
	case from == Uncommitted && to == Committed && f.ContentChanged:
		return CreateCommitted
	case from == Uncommitted && to == Committed:
		return CommitDocument
	}
	return NoEffect // committed tax is never modified
}

func refusal(s State, a Action, f Facts) *Refusal {
	switch {
	case a == Refund && f.OrderInStore:
		return &Refusal{RefusedRefundOrderInStore, "refund_order_taxes does not apply to Order In Store sales; record the return as a new Order In Store sale with negative amounts or refund it in AvaTax directly"}
	case s == Void:
		return &Refusal{RefusedOrderVoided, fmt.Sprintf("the order's tax was voided; %s cannot apply to a voided order", a)}
	case a == Refund:
		return &Refusal{RefusedRefundBeforeCommit, "nothing is committed yet, so there is nothing to refund; void the uncommitted tax or refresh it instead"}
	case a == VoidTax:
		return &Refusal{RefusedVoidCommitted, "the order's tax is committed and cannot be voided; use refund_order_taxes for the returned line item groups instead"}
	}
	return &Refusal{"refused", fmt.Sprintf("%s is not allowed in state %s", a, s)}
}
