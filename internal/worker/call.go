package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
)

// call is a planned AvaTax call: the intent to record, how to make it,
// and the event it answers.
type call struct {
	intent store.Intent
	do     func(context.Context) (*avatax.TransactionModel, error)
	action lifecycle.Action
	from   lifecycle.State
	// cause is the event its tax error names: the event itself, or, for a
	// refund deferred to the commit, the refund event's id with /refund.
	cause events.Envelope
}

// perform records the intent, makes the call, publishes the result and
// records the outcome.
func (j *job) perform(ctx context.Context, c *call) error {
	// The call is audited under the event it belongs to: a refund deferred
	// to the commit names the refund event, not the commit's.
	ctx = audit.WithOrder(ctx, j.orderID(), c.intent.EventID)
	j.rec.Intent = &c.intent
	j.rec.UpdatedAt = c.intent.At
	if err := j.save(ctx); err != nil {
		return err
	}
	doc, err := c.do(ctx)
	if err != nil {
		return j.failed(ctx, c, err)
	}
	return j.succeeded(ctx, c, doc)
}

// succeeded publishes the result of a call and records its outcome in the
// record the job holds. The result goes out first: if the process dies in
// between, the redelivered event finds the intent, looks the document up
// and publishes the same result again under the same id, which the stream
// deduplicates.
func (j *job) succeeded(ctx context.Context, c *call, doc *avatax.TransactionModel) error {
	in := c.intent
	if !j.rec.Intent.Same(&in) {
		return nil // someone else recorded or reconciled it
	}
	now := j.w.opts.Now()
	applyOutcome(j.rec, c, doc, now)
	if err := j.publishResult(ctx, c, doc); err != nil {
		return err // the intent stays: the redelivery reconciles and publishes
	}
	if err := j.save(ctx); !errors.Is(err, store.ErrConflict) {
		return err
	}
	// Another writer (a state change of the same order) got in between:
	// apply the outcome to the record as it is now.
	err := j.update(ctx, func(r *store.Record) error {
		if !r.Intent.Same(&in) {
			return errRestart
		}
		applyOutcome(r, c, doc, now)
		return nil
	})
	if errors.Is(err, errRestart) {
		err = nil
	}
	return err
}

// applyOutcome folds a successful call into the record, and marks the
// event the call belonged to as applied (a refund deferred to the commit
// answers its own event, not the delivery's).
func applyOutcome(r *store.Record, c *call, doc *avatax.TransactionModel, now time.Time) {
	in := c.intent
	d := &store.Document{Code: doc.Code, Type: doc.Type, Status: doc.Status,
		TotalAmount: doc.TotalAmount, TotalTaxable: doc.TotalTaxable, TotalTax: doc.TotalTax}
	if in.Effect == lifecycle.RefundDocument {
		if ret, ok := r.Return(in.ReturnID); ok {
			ret.Document = d
		}
	} else {
		d.Hash = in.Hash
		if d.Hash == "" && r.Sale != nil {
			d.Hash = r.Sale.Hash
		}
		r.Sale = d
	}
	r.Record(store.Transition{At: now, EventID: in.EventID, Action: string(c.action), From: c.from, To: in.Target, Effect: in.Effect})
	r.State = in.Target
	r.Intent = nil
	r.UpdatedAt = now
	r.MarkSeen(in.EventID)
}

// failed handles a failed call: transient failures leave the intent for the
// redelivery to reconcile; the others clear it and publish a tax error.
func (j *job) failed(ctx context.Context, c *call, callErr error) error {
	kind := avatax.KindOf(callErr)
	if kind == avatax.KindTransient || kind == avatax.KindAuth {
		j.release(ctx, c.intent)
		var ae *avatax.Error
		if errors.As(callErr, &ae) {
			if d, ok := ae.RetryAfterDelay(); ok {
				return &retryAfter{delay: d, err: fmt.Errorf("order %s: %w", j.orderID(), callErr)}
			}
		}
		return fmt.Errorf("order %s: %w", j.orderID(), callErr)
	}
	if kind == avatax.KindConflict {
		// The document may already be where the call would have put it
		// (voided twice, committed by an earlier delivery): look it up.
		applied, err := j.reconcileNow(ctx, c.intent, c.from)
		if err != nil || applied {
			return err
		}
	}
	info := avataxErrorInfo(callErr)
	// The error goes out before the event is recorded as done, so a crash in
	// between repeats it (under the same id) instead of losing it.
	if err := j.publishError(ctx, c.cause, j.rec.OrderVersion, c.action, c.from, info); err != nil {
		return err
	}
	return j.update(ctx, func(r *store.Record) error {
		if r.Intent.Same(&c.intent) {
			r.Intent = nil
		}
		if ret, ok := r.Return(c.intent.ReturnID); ok && !ret.Done() {
			ret.Refused = info.Message // a refund AvaTax refuses waits for corrected data
		}
		r.Record(store.Transition{At: j.w.opts.Now(), EventID: c.cause.ID, Action: string(c.action), From: r.State, To: r.State,
			Note: "AvaTax refused " + string(c.intent.Effect) + ": " + info.Message})
		// The event the call belonged to is answered (a refund deferred
		// to the commit names its own event, not the delivery's).
		r.MarkSeen(c.intent.EventID)
		r.MarkSeen(c.cause.ID)
		return nil
	})
}

// release gives up an intent whose call failed, so that the next delivery
// of any event of the order, or the sweep, finishes it at once, and puts
// the order on the sweep's list in case no delivery comes. Both are best
// effort: without them the intent is still finished, once its lease has
// passed, by a redelivery.
func (j *job) release(ctx context.Context, in store.Intent) {
	err := j.update(ctx, func(r *store.Record) error {
		if !r.Intent.Same(&in) {
			return errRestart
		}
		r.Intent.Released = true
		return nil
	})
	if err != nil && !errors.Is(err, errRestart) {
		j.w.log.WarnContext(ctx, "release intent", "order", j.orderID(), "err", err)
	}
	j.w.markUnfinished(ctx, j.orderID())
}
