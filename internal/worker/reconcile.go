package worker

import (
	"context"
	"errors"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
)

// reconcile finishes the job of the intent the record holds, left without
// an outcome (the process died, or the call failed): it looks the document
// up by code and records the outcome when the call had taken effect,
// instead of making the call again. Otherwise it clears the intent, so the
// event that asked for the call repeats it when delivered again.
func (j *job) reconcile(ctx context.Context) error {
	_, err := j.reconcileNow(ctx, *j.rec.Intent, j.rec.State)
	return err
}

// reconcileNow reports whether the intent's call had taken effect.
func (j *job) reconcileNow(ctx context.Context, in store.Intent, from lifecycle.State) (bool, error) {
	w := j.w
	ctx = audit.WithOrder(ctx, j.orderID(), in.EventID)
	company := w.mapper.Config().Provider.CompanyCode
	doc, err := w.tax.Get(ctx, company, in.Code, in.Type)
	if err != nil && !avatax.IsNotFound(err) {
		return false, err
	}
	found := err == nil
	applied := false
	switch in.Effect {
	case lifecycle.CreateDocument, lifecycle.CreateCommitted:
		applied = found && docState(doc.Status) == in.Target
	case lifecycle.CommitDocument:
		applied = found && doc.Status == avatax.StatusCommitted
	case lifecycle.VoidDocument:
		applied = !found || doc.Status == avatax.StatusCancelled
		if !found {
			doc = &avatax.TransactionModel{Code: in.Code, Type: in.Type, Status: avatax.StatusCancelled}
		}
	case lifecycle.RefundDocument:
		applied = found
	}
	// An adjustment's content cannot be confirmed from the document: leave
	// it unapplied so the refresh is repeated (createoradjust is idempotent).
	if applied {
		c := &call{intent: in, action: actionOf(in.Effect), from: from}
		if err := j.load(ctx); err != nil {
			return false, err
		}
		if err := j.succeeded(ctx, c, doc); err != nil {
			return false, err
		}
		w.log.InfoContext(ctx, "reconciled AvaTax call", "order", j.orderID(), "effect", in.Effect, "code", in.Code, "event", in.EventID)
		return true, nil
	}
	err = j.update(ctx, func(r *store.Record) error {
		if !r.Intent.Same(&in) {
			return errRestart
		}
		r.Intent = nil
		return nil
	})
	if errors.Is(err, errRestart) {
		err = nil
	}
	return false, err
}

// docState maps an AvaTax document status to the order state it implies.
func docState(status string) lifecycle.State {
	switch status {
	case avatax.StatusSaved, avatax.StatusPosted:
		return lifecycle.Uncommitted
	case avatax.StatusCommitted:
		return lifecycle.Committed
	case avatax.StatusCancelled:
		return lifecycle.Void
	}
	return lifecycle.None
}

func actionOf(e lifecycle.Effect) lifecycle.Action {
	switch e {
	case lifecycle.RefundDocument:
		return lifecycle.Refund
	case lifecycle.VoidDocument:
		return lifecycle.VoidTax
	}
	return lifecycle.Refresh
}
