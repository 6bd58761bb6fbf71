// Package worker consumes OMS events from JetStream, asks the lifecycle
// package what each one means for the order's tax, performs the AvaTax call
// the decision needs, and publishes the result. Effects happen exactly once
// on an at-least-once bus: the intent of a call is recorded before it is
// made, its outcome after, and every write is a compare-and-swap.
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/circuit"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
)

// AvaTax is the part of the AvaTax client the worker uses.
type AvaTax interface {
	CreateOrAdjust(ctx context.Context, m avatax.CreateOrAdjustTransactionModel) (*avatax.TransactionModel, error)
	Get(ctx context.Context, companyCode, code, docType string) (*avatax.TransactionModel, error)
	Commit(ctx context.Context, companyCode, code, docType string) (*avatax.TransactionModel, error)
	Void(ctx context.Context, companyCode, code, docType, reason string) (*avatax.TransactionModel, error)
	Refund(ctx context.Context, companyCode, code string, m avatax.RefundTransactionModel) (*avatax.TransactionModel, error)
}

// Records is where the worker keeps each order's record: store.Store,
// whose writes are compare-and-swap on the revision.
type Records interface {
	Get(ctx context.Context, orderID string) (*store.Record, uint64, error)
	Put(ctx context.Context, r *store.Record, rev uint64) (uint64, error)
	Update(ctx context.Context, orderID string, fn func(*store.Record) error) (*store.Record, uint64, error)
}

// Publisher sends what the worker publishes: results and tax errors as
// events (their id is the message id), and dead letters as they are.
// bus.Publisher publishes them with JetStream.
type Publisher interface {
	Publish(ctx context.Context, subject string, env events.Envelope) error
	PublishMsg(ctx context.Context, m *nats.Msg) error
}

// Options tune the worker.
type Options struct {
	// Concurrency is the number of events processed at once.
	Concurrency int
	// IntentLease is how long an unfinished AvaTax call of another delivery
	// is presumed to be still running. It must exceed the longest AvaTax
	// call including client retries; the consumer's AckWait is a good value.
	IntentLease time.Duration
	// MaxDeliver is the consumer's delivery limit: the last delivery of a
	// failing event goes to the dead-letter stream.
	MaxDeliver int
	// Source is the CloudEvents source of published results.
	Source string
	// Logger receives the worker's records, with the event's context
	// (wrap its handler with telemetry.NewLogHandler for trace ids).
	Logger *slog.Logger
	Now    func() time.Time
	// Unfinished is the sweep's list of orders whose record may hold an
	// intent no delivery will finish (nil: no sweep), and SweepInterval
	// how often Run sweeps it (default: IntentLease).
	Unfinished    *store.Unfinished
	SweepInterval time.Duration
	// Breaker is the AvaTax circuit (default: circuit.New with its
	// defaults).
	Breaker *circuit.Breaker
	// TracerProvider and MeterProvider receive the worker's spans and
	// metrics (default: the OpenTelemetry globals).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// DefaultOptions are the worker's defaults.
var DefaultOptions = Options{
	Concurrency: 32,
	IntentLease: 30 * time.Second,
	MaxDeliver:  20,
	Source:      "taxbridge",
}

// Worker processes OMS events.
type Worker struct {
	records     Records
	pub         Publisher
	validator   *events.Validator
	mapper      *taxdoc.Mapper
	tax         AvaTax // guarded by the circuit
	raw         AvaTax // the client itself, for probes
	resolver    addressResolver
	breaker     *circuit.Breaker
	opts        Options
	log         *slog.Logger
	orders      keyLock
	addresses   addressCache
	in          instruments
	sweepGauges sweepGauges
}

// New returns a worker. Zero options take their DefaultOptions value.
func New(records Records, pub Publisher, v *events.Validator, m *taxdoc.Mapper, tax AvaTax, opts Options) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultOptions.Concurrency
	}
	if opts.IntentLease <= 0 {
		opts.IntentLease = DefaultOptions.IntentLease
	}
	if opts.MaxDeliver <= 0 {
		opts.MaxDeliver = DefaultOptions.MaxDeliver
	}
	if opts.Source == "" {
		opts.Source = DefaultOptions.Source
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = opts.IntentLease
	}
	if opts.Breaker == nil {
		opts.Breaker = circuit.New()
	}
	w := &Worker{records: records, pub: pub, validator: v, mapper: m, raw: tax, breaker: opts.Breaker, opts: opts, log: opts.Logger,
		in: newInstruments(opts.TracerProvider, opts.MeterProvider)}
	g := guarded{tax: tax, b: opts.Breaker, w: w}
	w.tax = g
	if r, ok := tax.(addressResolver); ok {
		w.resolver = guardedResolver{r: r, g: g}
	}
	w.sweepGauges.register(w.in.meter)
	return w
}
