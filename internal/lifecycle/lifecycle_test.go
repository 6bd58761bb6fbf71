package lifecycle

import "testing"

func TestDecideEveryStateAndAction(t *testing.T) {
	plain := Facts{}
	commitable := Facts{Commitable: true}
	changed := Facts{ContentChanged: true}
	commitChanged := Facts{Commitable: true, ContentChanged: true}
	ois := Facts{Commitable: true, OrderInStore: true}
	noRecording := Facts{Commitable: true, RecordingDisabled: true, ContentChanged: true}

	tests := []struct {
		from    State
		action  Action
		facts   Facts
		to      State
		effect  Effect
		refusal string
	}{
		// none
		{None, Refresh, plain, Uncommitted, CreateDocument, ""},
		{None, Refresh, changed, Uncommitted, CreateDocument, ""},
		{None, Refresh, commitable, Committed, CreateCommitted, ""},
		{None, Refresh, ois, Committed, CreateCommitted, ""},
		{None, Refresh, noRecording, Uncommitted, CreateDocument, ""},
		{None, Refund, plain, None, NoEffect, RefusedRefundBeforeCommit},
		{None, Refund, ois, None, NoEffect, RefusedRefundOrderInStore},
		{None, VoidTax, plain, Void, NoEffect, ""},
		// uncommitted
		{Uncommitted, Refresh, plain, Uncommitted, NoEffect, ""},
		{Uncommitted, Refresh, changed, Uncommitted, AdjustDocument, ""},
		{Uncommitted, Refresh, commitable, Committed, CommitDocument, ""},
		{Uncommitted, Refresh, commitChanged, Committed, CreateCommitted, ""},
		{Uncommitted, Refresh, noRecording, Uncommitted, AdjustDocument, ""},
		{Uncommitted, Refund, plain, Uncommitted, NoEffect, RefusedRefundBeforeCommit},
		{Uncommitted, VoidTax, plain, Void, VoidDocument, ""},
		// committed
		{Committed, Refresh, plain, Committed, NoEffect, ""},
		{Committed, Refresh, commitChanged, Committed, NoEffect, ""},
		{Committed, Refund, plain, CommittedRefund, RefundDocument, ""},
		{Committed, Refund, ois, Committed, NoEffect, RefusedRefundOrderInStore},
		{Committed, VoidTax, plain, Committed, NoEffect, RefusedVoidCommitted},
		// committed_refund
		{CommittedRefund, Refresh, plain, CommittedRefund, NoEffect, ""},
		{CommittedRefund, Refresh, commitChanged, CommittedRefund, NoEffect, ""},
		{CommittedRefund, Refund, plain, CommittedRefund, RefundDocument, ""},
		{CommittedRefund, VoidTax, plain, CommittedRefund, NoEffect, RefusedVoidCommitted},
		// void
		{Void, Refresh, plain, Void, NoEffect, RefusedOrderVoided},
		{Void, Refresh, commitable, Void, NoEffect, RefusedOrderVoided},
		{Void, Refund, plain, Void, NoEffect, RefusedOrderVoided},
		{Void, VoidTax, plain, Void, NoEffect, ""},
	}
	covered := map[State]map[Action]bool{}
	for _, tt := range tests {
		d := Decide(tt.from, tt.action, tt.facts)
		gotRefusal := ""
		if d.Refusal != nil {
			gotRefusal = d.Refusal.Code
			if d.Refusal.Message == "" {
				t.Errorf("%s × %s: refusal without a message", tt.from, tt.action)
			}
		}
		if d.From != tt.from || d.To != tt.to || d.Effect != tt.effect || gotRefusal != tt.refusal {
			t.Errorf("%s × %s %+v = %s→%s effect %q refusal %q; want →%s effect %q refusal %q",
				tt.from, tt.action, tt.facts, d.From, d.To, d.Effect, gotRefusal, tt.to, tt.effect, tt.refusal)
		}
		if covered[tt.from] == nil {
			covered[tt.from] = map[Action]bool{}
		}
		covered[tt.from][tt.action] = true
	}
	for _, s := range States {
		for _, a := range Actions {
			if !covered[s][a] {
				t.Errorf("no case for %s × %s", s, a)
			}
		}
	}
}

func TestDecideUnknownActionIsRefused(t *testing.T) {
	d := Decide(Uncommitted, Action("delete_taxes"), Facts{})
	if d.Refusal == nil || d.To != Uncommitted || d.Effect != NoEffect {
		t.Fatalf("unknown action: %+v", d)
	}
}

// TestTableHasOneRuleForEveryStateAndStep: the table is complete and
// unambiguous, and the FSM built from it takes every allowed rule to the
// state the table says.
func TestTableHasOneRuleForEveryStateAndStep(t *testing.T) {
	for _, s := range States {
		for _, st := range []step{refresh, refreshAll, refund, void} {
			n := 0
			for _, r := range table {
				if r.from == s && r.step == st {
					n++
					if r.refused == "" && fire(s, st) != r.to {
						t.Errorf("%s × %s: the FSM ends in %s, the table says %s", s, st, fire(s, st), r.to)
					}
					if r.refused != "" && r.to != s {
						t.Errorf("%s × %s: refused, yet it leads to %s", s, st, r.to)
					}
				}
			}
			if n != 1 {
				t.Errorf("%s × %s: %d rules, want 1", s, st, n)
			}
		}
	}
}
