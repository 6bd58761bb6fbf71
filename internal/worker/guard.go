package worker

import (
	"context"
	"errors"
	"net/http"

	"github.com/taxbridge/taxbridge/internal/avatax"
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
