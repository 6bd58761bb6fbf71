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

// settings are what the Options of New set on a Worker.
type settings struct {
	Concurrency    int
	IntentLease    time.Duration
	MaxDeliver     int
	Source         string
	Logger         *slog.Logger
	Now            func() time.Time
	Unfinished     *store.Unfinished
	SweepInterval  time.Duration
	Breaker        *circuit.Breaker
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// DefaultConcurrency is the number of events processed at once unless
// WithConcurrency says otherwise.
const DefaultConcurrency = 32

// Option tunes the worker.
type Option func(*settings)

// WithConcurrency sets the number of events processed at once (default
// DefaultConcurrency).
func WithConcurrency(n int) Option { return func(s *settings) { s.Concurrency = n } }

// WithIntentLease sets how long an unfinished AvaTax call of another
// delivery is presumed to be still running (default 30s). It must exceed
// the longest AvaTax call including client retries; the consumer's
// AckWait is a good value.
func WithIntentLease(d time.Duration) Option { return func(s *settings) { s.IntentLease = d } }

// WithMaxDeliver sets the consumer's delivery limit (default 20): the last
// delivery of a failing event goes to the dead-letter stream.
func WithMaxDeliver(n int) Option { return func(s *settings) { s.MaxDeliver = n } }

// WithSource sets the CloudEvents source of published results (default
// "taxbridge").
func WithSource(source string) Option { return func(s *settings) { s.Source = source } }

// WithLogger sets what receives the worker's records, with the event's
// context (wrap its handler with telemetry.NewLogHandler for trace ids;
// default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.Logger = l } }

// WithClock sets the worker's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *settings) { s.Now = now } }

// WithUnfinished sets the sweep's list of orders whose record may hold an
// intent no delivery will finish (default none: no sweep).
func WithUnfinished(u *store.Unfinished) Option { return func(s *settings) { s.Unfinished = u } }

// WithSweepInterval sets how often Run sweeps the unfinished orders
// (default: the intent lease).
func WithSweepInterval(d time.Duration) Option { return func(s *settings) { s.SweepInterval = d } }

// WithBreaker sets the AvaTax circuit (default: circuit.New with its
// defaults).
func WithBreaker(b *circuit.Breaker) Option { return func(s *settings) { s.Breaker = b } }

// WithTracerProvider sets what receives the worker's spans (default: the
// OpenTelemetry global).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *settings) { s.TracerProvider = tp }
}

// WithMeterProvider sets what receives the worker's metrics (default: the
// OpenTelemetry global).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(s *settings) { s.MeterProvider = mp }
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
	opts        settings
	log         *slog.Logger
	orders      keyLock
	addresses   addressCache
	in          instruments
	sweepGauges sweepGauges
}

// New returns a worker. An option given a zero value keeps its default.
func New(records Records, pub Publisher, v *events.Validator, m *taxdoc.Mapper, tax AvaTax, options ...Option) *Worker {
	var opts settings
	for _, o := range options {
		o(&opts)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.IntentLease <= 0 {
		opts.IntentLease = 30 * time.Second
	}
	if opts.MaxDeliver <= 0 {
		opts.MaxDeliver = 20
	}
	if opts.Source == "" {
		opts.Source = "taxbridge"
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
