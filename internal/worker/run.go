package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
)

// Run consumes until ctx is cancelled, then stops fetching, lets in-flight
// events finish (drain) and returns. While the AvaTax circuit is open
// (AvaTax refuses the credentials or keeps failing) it takes no event: it
// drains what it has, probes AvaTax, and consumes again once it answers.
func (w *Worker) Run(ctx context.Context, cons jetstream.Consumer) error {
	work := context.WithoutCancel(ctx) // in-flight events finish after shutdown starts
	var wg sync.WaitGroup
	defer wg.Wait()
	if w.opts.Unfinished != nil {
		wg.Go(func() { w.sweepLoop(ctx) })
	}
	w.probeAtStart(ctx)
	for {
		if w.waitClosed(ctx) != nil {
			return nil
		}
		ccs, err := w.consume(ctx, work, cons)
		if err != nil {
			return err
		}
		st, changed := w.breaker.State()
		if !st.Open {
			select {
			case <-ctx.Done():
			case <-changed:
			}
		}
		drain(ccs)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// drain stops the consumers and waits for the events they hold.
func drain(ccs []jetstream.ConsumeContext) {
	var wg sync.WaitGroup
	for _, cc := range ccs {
		cc.Drain()
		wg.Go(func() { <-cc.Closed() })
	}
	wg.Wait()
}

// probe asks AvaTax whether it answers and accepts the credentials.
func (w *Worker) probe(ctx context.Context) (bool, string) {
	p, ok := w.raw.(pinger)
	if !ok {
		return true, "" // nothing to ask: let the next calls tell
	}
	res, err := p.Ping(ctx)
	switch {
	case err != nil:
		return false, "AvaTax does not answer: " + err.Error()
	case !res.Authenticated:
		return false, "AvaTax answers but refuses taxbridge's credentials: check TAXBRIDGE_AVATAX_ACCOUNT_ID and the license key"
	}
	return true, ""
}

// probeAtStart checks AvaTax before the first event is taken, so that
// wrong credentials are said at once, loudly, and no event is taken (and
// its deliveries spent) until they work.
func (w *Worker) probeAtStart(ctx context.Context) {
	if ok, reason := w.probe(ctx); !ok {
		w.log.ErrorContext(ctx, "AvaTax is not usable at start: no event is taken until a probe succeeds", "reason", reason)
		w.breaker.Trip(reason)
	}
}

// waitClosed returns once the circuit is closed, probing AvaTax while it
// is open, or when ctx ends.
func (w *Worker) waitClosed(ctx context.Context) error {
	for {
		st, _ := w.breaker.State()
		if !st.Open {
			return nil
		}
		t := timerAt(w.opts.Now(), st.Probe)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		ok, reason := w.probe(ctx)
		w.breaker.Probed(ok, reason)
		if ok {
			w.log.InfoContext(ctx, "AvaTax answers again: taking events")
			return nil
		}
		next, _ := w.breaker.State()
		w.log.WarnContext(ctx, "AvaTax still unavailable", "reason", reason, "next_probe_in", next.Probe.Sub(w.opts.Now()).Round(100_000_000))
	}
}

// consume starts the worker's consumers.
func (w *Worker) consume(ctx, work context.Context, cons jetstream.Consumer) ([]jetstream.ConsumeContext, error) {
	var ccs []jetstream.ConsumeContext
	for i := 0; i < w.opts.Concurrency; i++ {
		cc, err := cons.Consume(func(m jetstream.Msg) { w.HandleMsg(work, m) },
			// A small prefetch: buffered messages wait with their AckWait
			// running, and gain nothing measurable (test/bench).
			jetstream.PullMaxMessages(2),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				// A server going away or a consumer leader changing reaches
				// every consume context at once; the connection logs the
				// former once (bus.LogConnectionEvents).
				if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrServerShutdown) ||
					errors.Is(err, jetstream.ErrConsumerLeadershipChanged) {
					w.log.DebugContext(ctx, "consume", "err", err)
					return
				}
				w.log.WarnContext(ctx, "consume", "err", err)
			}))
		if err != nil {
			for _, c := range ccs {
				c.Stop()
			}
			return nil, fmt.Errorf("consume %s: %w", bus.WorkerName, err)
		}
		ccs = append(ccs, cc)
	}
	return ccs, nil
}

// timerAt is a timer that fires at t (at once if t has passed).
func timerAt(now, t time.Time) *time.Timer { return time.NewTimer(max(t.Sub(now), 0)) }
