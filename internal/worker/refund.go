package worker

import (
	"context"
	"errors"
	"slices"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
)

// refundPending refunds the returns that arrived before the order's tax
// was committed, once it is. It reads the record again for each, so it is
// safe to call after any event, and from the sweep.
func (j *job) refundPending(ctx context.Context) error {
	for {
		if err := j.load(ctx); err != nil {
			return err
		}
		rec := j.rec
		i := slices.IndexFunc(rec.Returns, func(r store.Return) bool { return r.Pending() })
		if i < 0 || rec.Intent != nil || (rec.State != lifecycle.Committed && rec.State != lifecycle.CommittedRefund) {
			return nil // nothing to do, or another delivery is busy with the order
		}
		o, err := snapshot(rec)
		if err != nil {
			return err
		}
		r := &rec.Returns[i]
		// The refund's answers name the event that asked for it; the
		// suffix keeps them apart from its refund_before_commit error.
		cause := events.Envelope{ID: r.EventID + "/refund", Type: events.RefundOrderTaxes, Subject: j.orderID()}
		c, err := j.planRefund(o, r, cause)
		if err != nil {
			// The return's data cannot be refunded: refuse it for good,
			// naming the event that asked for it, and go on.
			r.Refused = err.Error()
			if err := j.publishError(ctx, cause, rec.OrderVersion, lifecycle.Refund, rec.State, dataErrorInfo(err)); err != nil {
				return err
			}
			if err := j.save(ctx); err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
			continue
		}
		if err := j.perform(ctx, c); err != nil {
			return err
		}
	}
}
