package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
)

// Process applies one event checked by events.Validator.Inbound and says
// what came of it. A nil error means the event is done (applied, a
// duplicate, stale, or refused with a tax error).
func (w *Worker) Process(ctx context.Context, in *events.Inbound) (Outcome, error) {
	j := w.newJob(in.Envelope, &in.Data, in.Action())
	// The AvaTax exchanges made for the event are audited under its order.
	ctx = audit.WithOrder(ctx, j.orderID(), j.env.ID)
	defer w.orders.lock(j.orderID())()
	for attempt := 0; attempt < 20; attempt++ {
		pending, err := j.apply(ctx)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, errRestart) {
			continue
		}
		if err == nil && pending {
			err = j.refundPending(ctx)
		}
		return j.outcome(), err
	}
	return j.outcome(), fmt.Errorf("order %s: record kept changing under event %s: %w", j.orderID(), j.env.ID, errRetry)
}

// errRestart asks Process to read the record again and start over.
var errRestart = errors.New("restart")

// apply applies the event to the record as read now. It reports whether
// the order has returns waiting for a refund.
func (j *job) apply(ctx context.Context) (bool, error) {
	w, env, data := j.w, j.env, j.data
	if err := j.load(ctx); err != nil {
		return false, err
	}
	rec := j.rec
	// Returns waiting for the commit; one this event adds is either
	// refunded by act itself or still waits for the commit.
	pending := slices.ContainsFunc(rec.Returns, func(r store.Return) bool { return r.Pending() })
	j.duplicate = rec.HasSeen(env.ID)
	j.unchanged = !j.action.IsAction() && rec.Order != nil && data.OrderVersion <= rec.OrderVersion
	j.stale = j.action.IsAction() && rec.Stale(lifecycle.Action(j.action), data.OrderVersion)
	// An intent is finished first, whatever the event: it may belong to an
	// event that will not come again (a refund deferred to the commit, or
	// an event given up), so a duplicate must not step over it.
	if in := rec.Intent; in != nil {
		if !in.Expired(w.opts.Now(), w.opts.IntentLease) {
			// Another replica is probably making the call; an orphaned
			// intent is reconciled once its lease has passed.
			age := w.opts.Now().Sub(in.At)
			return false, &retryAfter{delay: min(w.opts.IntentLease-age, time.Second),
				err: fmt.Errorf("order %s: AvaTax %s for event %s may still be running: %w", env.Subject, in.Effect, in.EventID, errRetry)}
		}
		if err := j.reconcile(ctx); err != nil {
			return false, err
		}
		w.unmarkUnfinished(ctx, env.Subject) // if it fails again, it is marked again
		return false, errRestart
	}
	if j.duplicate {
		w.log.DebugContext(ctx, "duplicate event", "id", env.ID, "order", env.Subject)
		return pending, nil
	}
	if j.unchanged {
		// A state change whose snapshot is not newer than the record's (the
		// line item groups an order or parcel change moves carry its
		// version): the record already holds all it says and applying it
		// again would change nothing, so there is nothing to write, and no
		// need to remember it to drop it later.
		return pending, nil
	}
	rec.MergeSnapshot(data.OrderVersion, data.Order)
	if !j.action.IsAction() {
		rec.MarkSeen(env.ID)
		rec.UpdatedAt = w.opts.Now()
		return pending, j.save(ctx)
	}
	return pending, j.act(ctx)
}
