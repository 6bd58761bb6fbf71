package worker

import (
	"cmp"
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/taxbridge/taxbridge/internal/events"
)

// The sweep finishes the intents no delivery will finish: a refund
// deferred to the commit whose call failed after the commit was
// acknowledged, or an event given up after its last delivery, on an order
// that receives no further event. Only orders put on the Unfinished list on
// those paths are read, so it costs nothing while nothing fails.

// SweepStats is what a sweep left unfinished.
type SweepStats struct {
	// Unfinished is the number of orders whose record still holds an
	// intent (another delivery's, within its lease, or one that failed
	// again), and Oldest the age of the oldest such intent.
	Unfinished int
	Oldest     time.Duration
}

// sweepGauges publishes the last sweep's figures as metrics.
type sweepGauges struct {
	mu   sync.Mutex
	last SweepStats
}

func (g *sweepGauges) set(s SweepStats) {
	g.mu.Lock()
	g.last = s
	g.mu.Unlock()
}

func (g *sweepGauges) register(m metric.Meter) {
	count, _ := m.Int64ObservableGauge("taxbridge.intents.unfinished", metric.WithUnit("{intent}"),
		metric.WithDescription("orders whose record held an unfinished AvaTax intent at the last sweep"))
	age, _ := m.Float64ObservableGauge("taxbridge.intents.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("age of the oldest unfinished AvaTax intent at the last sweep"))
	_, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		o.ObserveInt64(count, int64(g.last.Unfinished))
		o.ObserveFloat64(age, g.last.Oldest.Seconds())
		return nil
	}, count, age)
}

// markUnfinished puts the order on the sweep's list; best effort, as the
// intent is also finished by the next delivery of any of its events.
func (w *Worker) markUnfinished(ctx context.Context, orderID string) {
	if w.opts.Unfinished == nil {
		return
	}
	if err := w.opts.Unfinished.Add(ctx, orderID); err != nil {
		w.log.WarnContext(ctx, "intent sweep", "order", orderID, "err", err)
	}
}

// unmarkUnfinished takes the order off the sweep's list; best effort, as
// the sweep takes it off itself once it finds no intent.
func (w *Worker) unmarkUnfinished(ctx context.Context, orderID string) {
	if w.opts.Unfinished == nil {
		return
	}
	if err := w.opts.Unfinished.Remove(ctx, orderID); err != nil {
		w.log.WarnContext(ctx, "intent sweep", "order", orderID, "err", err)
	}
}

// Sweep finishes the released or expired intents of the orders on the
// Unfinished list, makes the refunds that waited behind them, and takes off
// the list the orders left with no intent. Run calls it every
// SweepInterval; any replica may, at any time.
func (w *Worker) Sweep(ctx context.Context) (SweepStats, error) {
	var stats SweepStats
	if w.opts.Unfinished == nil {
		return stats, nil
	}
	orders, err := w.opts.Unfinished.List(ctx)
	if err != nil {
		return stats, err
	}
	var firstErr error
	for _, id := range orders {
		age, open, err := w.sweepOrder(ctx, id)
		if err != nil {
			w.log.WarnContext(ctx, "intent sweep", "order", id, "err", err)
			firstErr = cmp.Or(firstErr, err)
		}
		if open {
			stats.Unfinished++
			stats.Oldest = max(stats.Oldest, age)
		}
	}
	w.sweepGauges.set(stats)
	return stats, firstErr
}

// sweepOrder finishes one order's intent if no delivery may still be
// making its call. It reports whether an intent remains, and its age.
func (w *Worker) sweepOrder(ctx context.Context, orderID string) (time.Duration, bool, error) {
	defer w.orders.lock(orderID)()
	j := w.newJob(events.Envelope{Subject: orderID}, nil, "")
	if err := j.load(ctx); err != nil {
		return 0, true, err
	}
	if in := j.rec.Intent; in != nil && in.Expired(w.opts.Now(), w.opts.IntentLease) {
		w.log.InfoContext(ctx, "intent sweep: finishing an intent left behind", "order", orderID,
			"effect", in.Effect, "code", in.Code, "event", in.EventID)
		if err := j.reconcile(ctx); err != nil {
			return w.opts.Now().Sub(in.At), true, err
		}
	}
	if err := j.refundPending(ctx); err != nil {
		return 0, true, err
	}
	if err := j.load(ctx); err != nil {
		return 0, true, err
	}
	if in := j.rec.Intent; in != nil {
		return w.opts.Now().Sub(in.At), true, nil
	}
	return 0, false, w.opts.Unfinished.Remove(ctx, orderID)
}

// sweepLoop sweeps every SweepInterval until ctx ends.
func (w *Worker) sweepLoop(ctx context.Context) {
	t := time.NewTicker(w.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = w.Sweep(ctx) // failures are logged per order; the next sweep tries again
		}
	}
}
