package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/circuit"
)

// pinger is the optional AvaTax capability the circuit probes with.
type pinger interface {
	Ping(ctx context.Context) (*avatax.PingResultModel, error)
}

// guarded is the AvaTax client as the worker calls it: a call while the
// circuit is open fails at once with circuit.ErrOpen (a transient error,
// so the event is retried), and every outcome feeds the circuit.
type guarded struct {
	tax AvaTax
	b   *circuit.Breaker
	w   *Worker
}

func (g guarded) CreateOrAdjust(ctx context.Context, m avatax.CreateOrAdjustTransactionModel) (*avatax.TransactionModel, error) {
	return guard(ctx, g, func() (*avatax.TransactionModel, error) { return g.tax.CreateOrAdjust(ctx, m) })
}

func (g guarded) Get(ctx context.Context, companyCode, code, docType string) (*avatax.TransactionModel, error) {
	return guard(ctx, g, func() (*avatax.TransactionModel, error) { return g.tax.Get(ctx, companyCode, code, docType) })
}

func (g guarded) Commit(ctx context.Context, companyCode, code, docType string) (*avatax.TransactionModel, error) {
	return guard(ctx, g, func() (*avatax.TransactionModel, error) { return g.tax.Commit(ctx, companyCode, code, docType) })
}

func (g guarded) Void(ctx context.Context, companyCode, code, docType, reason string) (*avatax.TransactionModel, error) {
	return guard(ctx, g, func() (*avatax.TransactionModel, error) { return g.tax.Void(ctx, companyCode, code, docType, reason) })
}

func (g guarded) Refund(ctx context.Context, companyCode, code string, m avatax.RefundTransactionModel) (*avatax.TransactionModel, error) {
	return guard(ctx, g, func() (*avatax.TransactionModel, error) { return g.tax.Refund(ctx, companyCode, code, m) })
}

// guardedResolver is the address resolution of a guarded client.
type guardedResolver struct {
	r addressResolver
	g guarded
}

func (gr guardedResolver) ResolveAddress(ctx context.Context, a avatax.AddressValidationInfo) (*avatax.AddressResolutionModel, error) {
	return guard(ctx, gr.g, func() (*avatax.AddressResolutionModel, error) { return gr.r.ResolveAddress(ctx, a) })
}

func guard[T any](ctx context.Context, g guarded, call func() (T, error)) (T, error) {
	if err := g.b.Allow(); err != nil {
		var zero T
		return zero, err
	}
	v, err := call()
	outcome, reason := outcomeOf(err)
	if g.b.Record(outcome, reason) {
		g.w.log.ErrorContext(ctx, "AvaTax is failing: stopped taking events until it answers again", "reason", reason)
	}
	return v, err
}

// outcomeOf says what a call's error tells of AvaTax's health: an answer
// that refuses the data is AvaTax working; a rate limit or a cancelled
// call says nothing.
func outcomeOf(err error) (circuit.Outcome, string) {
	var ae *avatax.Error
	switch {
	case err == nil:
		return circuit.Success, ""
	case errors.Is(err, circuit.ErrOpen), errors.Is(err, context.Canceled):
		return circuit.Ignored, ""
	case avatax.KindOf(err) == avatax.KindAuth:
		return circuit.Rejected, "AvaTax refuses taxbridge's credentials: " + err.Error()
	case errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests:
		return circuit.Ignored, ""
	case avatax.KindOf(err) == avatax.KindTransient:
		return circuit.Failure, err.Error()
	}
	return circuit.Success, ""
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
