// Package plexwriteback writes the tax taxbridge computed for Plex orders
// back into Plex: a price adjustment on a sales order, the tax amount of
// each line item on a purchase order.
//
// A Writer consumes the tax results on the TAX stream (tax.results.>)
// with the durable consumer ConsumerName. It skips results of OMS orders,
// and keeps per order, in the KV bucket BucketName, the version, stream
// sequence and content of the last write Plex accepted, so that a result
// delivered twice is written once, an older result arriving after a newer
// one is not written at all, and two replicas cannot both record a write.
// Failed writes are redelivered with exponential backoff, without limit:
// a write-back is never lost.
package plexwriteback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/plex"
)

// Names of the JetStream resources the writer uses.
const (
	// ConsumerName is the durable consumer of bus.ResultsStream.
	ConsumerName = "taxbridge-plex-writeback"
	// BucketName is the KV bucket of the last write per order.
	BucketName = "plex_writeback"
)

// Defaults of the options.
const (
	DefaultAdjustmentType = "Sales Tax"
	DefaultAckWait        = 30 * time.Second
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Minute
)

// PlexWriter is what the writer needs of Plex; *plex.Client has it.
type PlexWriter interface {
	PutPriceAdjustment(ctx context.Context, orderID string, in plex.PriceAdjustmentInput) (*plex.PriceAdjustment, error)
	PutPurchaseOrderLineTax(ctx context.Context, poID, lineID string, tax decimal.Decimal) (*plex.PurchaseOrderLine, error)
}

var _ PlexWriter = (*plex.Client)(nil)

// Writer writes tax results back to Plex. Create it with New, start it
// with Run.
type Writer struct {
	js     jetstream.JetStream
	plex   PlexWriter
	log    *slog.Logger
	tracer trace.Tracer

	adjType                string
	minBackoff, maxBackoff time.Duration
	ackWait                time.Duration
	concurrency            int
	replicas               int
	maxAckPending          int

	kv jetstream.KeyValue
}

// Option configures a Writer.
type Option func(*Writer)

// WithAdjustmentType sets the type of the price adjustment that carries a
// sales order's tax (default "Sales Tax"). With the description ("AvaTax
// <document code>") it identifies the adjustment in Plex.
func WithAdjustmentType(t string) Option {
	return func(w *Writer) {
		if t != "" {
			w.adjType = t
		}
	}
}

// WithLogger receives the writer's records (default: discarded). They
// name orders and Plex ids, never credentials.
func WithLogger(l *slog.Logger) Option {
	return func(w *Writer) {
		if l != nil {
			w.log = l
		}
	}
}

// WithTracerProvider sets where the spans go (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(w *Writer) {
		if tp != nil {
			w.tracer = tp.Tracer(instrumentation)
		}
	}
}

// WithBackoff sets the redelivery delay after a failed write: min doubling
// per delivery up to max (defaults 1s and 1m). A permanent refusal of Plex
// waits max; a Retry-After of Plex is honoured when it is longer.
func WithBackoff(min, max time.Duration) Option {
	return func(w *Writer) {
		if min > 0 {
			w.minBackoff = min
		}
		if max > 0 {
			w.maxBackoff = max
		}
	}
}

// WithAckWait sets the consumer's AckWait (default 30s). A write in
// progress tells the server so every third of it, so a slow Plex does not
// cause a second delivery.
func WithAckWait(d time.Duration) Option {
	return func(w *Writer) {
		if d > 0 {
			w.ackWait = d
		}
	}
}

// WithConcurrency sets how many results are written at once (default 1;
// Plex's budget of 200 calls a minute is the limit in any case).
func WithConcurrency(n int) Option {
	return func(w *Writer) {
		if n > 0 {
			w.concurrency = n
		}
	}
}

// WithReplicas sets the replicas of the consumer and the bucket (default 1).
func WithReplicas(n int) Option {
	return func(w *Writer) {
		if n > 0 {
			w.replicas = n
		}
	}
}

const instrumentation = "github.com/taxbridge/taxbridge/internal/plexwriteback"

// New returns a writer of the results on js to Plex through client.
func New(js jetstream.JetStream, client PlexWriter, opts ...Option) *Writer {
	w := &Writer{
		js: js, plex: client, log: slog.New(slog.DiscardHandler), tracer: otel.GetTracerProvider().Tracer(instrumentation),
		adjType: DefaultAdjustmentType, minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff,
		ackWait: DefaultAckWait, concurrency: 1, replicas: 1, maxAckPending: 1000,
	}
	for _, o := range opts {
		o(w)
	}
	if w.maxBackoff < w.minBackoff {
		w.maxBackoff = w.minBackoff
	}
	return w
}

// Provision creates or updates the bucket and the durable consumer. The
// TAX stream must exist (the worker provisions it). Run calls it.
func (w *Writer) Provision(ctx context.Context) (jetstream.Consumer, error) {
	kv, err := w.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: BucketName, History: 1, Replicas: w.replicas, Storage: jetstream.FileStorage,
		Description: "last tax written back to Plex per order, written with compare-and-swap",
	})
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", BucketName, err)
	}
	w.kv = kv
	cons, err := w.js.CreateOrUpdateConsumer(ctx, bus.ResultsStream, jetstream.ConsumerConfig{
		Durable: ConsumerName, Description: "write-back of Plex orders' tax to Plex",
		FilterSubject: bus.ResultsPrefix + ">", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: w.ackWait, MaxDeliver: -1, MaxAckPending: w.maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy, Replicas: w.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provision consumer %s: %w", ConsumerName, err)
	}
	return cons, nil
}

// Run provisions the bucket and the consumer and writes results back until
// ctx ends; the writes in progress then finish before it returns nil.
func (w *Writer) Run(ctx context.Context) error {
	cons, err := w.Provision(ctx)
	if err != nil {
		return err
	}
	// In-flight writes finish after shutdown starts: a write Plex accepted
	// is recorded, so it is not repeated by the next delivery.
	work := context.WithoutCancel(ctx)
	var ccs []jetstream.ConsumeContext
	for range w.concurrency {
		cc, err := cons.Consume(func(m jetstream.Msg) { w.handle(work, m) },
			jetstream.PullMaxMessages(2),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrServerShutdown) ||
					errors.Is(err, jetstream.ErrConsumerLeadershipChanged) {
					w.log.DebugContext(ctx, "plex write-back consume", "err", err)
					return
				}
				w.log.WarnContext(ctx, "plex write-back consume", "err", err)
			}))
		if err != nil {
			drain(ccs)
			return fmt.Errorf("consume %s: %w", ConsumerName, err)
		}
		ccs = append(ccs, cc)
	}
	<-ctx.Done()
	drain(ccs)
	return nil
}

func drain(ccs []jetstream.ConsumeContext) {
	var wg sync.WaitGroup
	for _, cc := range ccs {
		cc.Drain()
		wg.Go(func() { <-cc.Closed() })
	}
	wg.Wait()
}
