// Package worker consumes OMS events from JetStream, asks the lifecycle
// package what each one means for the order's tax, performs the AvaTax call
// the decision needs, and publishes the result. Effects happen exactly once
// on an at-least-once bus: the intent of a call is recorded before it is
// made, its outcome after, and every write is a compare-and-swap.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/circuit"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
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
	js          jetstream.JetStream
	store       *store.Store
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
func New(js jetstream.JetStream, st *store.Store, v *events.Validator, m *taxdoc.Mapper, tax AvaTax, opts Options) *Worker {
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
		opts.Breaker = circuit.New(circuit.Options{})
	}
	w := &Worker{js: js, store: st, validator: v, mapper: m, raw: tax, breaker: opts.Breaker, opts: opts, log: opts.Logger,
		in: newInstruments(opts.TracerProvider, opts.MeterProvider)}
	g := guarded{tax: tax, b: opts.Breaker, w: w}
	w.tax = g
	if r, ok := tax.(addressResolver); ok {
		w.resolver = guardedResolver{r: r, g: g}
	}
	w.sweepGauges.register(w.in.meter)
	return w
}

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

// errRetry marks failures that a later delivery may get past.
var errRetry = errors.New("retry later")

// retryAfter is an error that asks for redelivery after a delay.
type retryAfter struct {
	delay time.Duration
	err   error
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

// HandleMsg processes one delivery and settles it: ack when done, a delayed
// nak when a later delivery may succeed, a dead letter when it never will.
//
// It continues the trace of the producer (W3C trace context in the
// message headers) with a CONSUMER span "process <subject>" whose parent
// and link are the producer's span, and counts the event by type and
// outcome.
func (w *Worker) HandleMsg(ctx context.Context, m jetstream.Msg) {
	start := time.Now()
	deliveries := uint64(1)
	if md, err := m.Metadata(); err == nil {
		deliveries = md.NumDelivered
	}
	typ := metricEventType.String(typeOfSubject(m.Subject()))
	producer := bus.Extract(ctx, m.Headers())
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(bus.DeliveryAttrs(m)...), trace.WithAttributes(attrEventType.String(typ.Value.AsString()))}
	if sc := trace.SpanContextFromContext(producer); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := w.in.tracer.Start(producer, "process "+bus.SubjectTemplate(m.Subject()), opts...)
	defer span.End()
	ctx, obs := observe(ctx)
	if deliveries > 1 {
		w.in.redelivered.Add(ctx, 1, metric.WithAttributes(typ))
	}

	in, err := w.validator.Inbound(m.Data())
	if err == nil {
		err = events.CheckSubject(m.Subject(), &in)
	}
	if err == nil {
		span.SetAttributes(attrEventID.String(in.ID), attrCEType.String(string(in.Type)), attrOrderID.String(in.Subject))
		err = w.Process(ctx, &in)
	}
	var outcome string
	var invalid *events.InvalidError
	switch {
	case err == nil:
		outcome = obs.outcome()
		if err := m.Ack(); err != nil {
			w.log.WarnContext(ctx, "ack", "subject", m.Subject(), "err", err)
		}
	case errors.As(err, &invalid):
		outcome = w.deadLetter(ctx, m, deliveries, "invalid", err)
	case deliveries >= uint64(w.opts.MaxDeliver):
		// An intent the event left is the sweep's to finish now.
		w.markUnfinished(ctx, in.Subject)
		outcome = w.deadLetter(ctx, m, deliveries, "exhausted", fmt.Errorf("gave up after %d deliveries: %w", deliveries, err))
	default:
		outcome = OutcomeRetried
		delay := backoff(deliveries)
		var ra *retryAfter
		if errors.As(err, &ra) && ra.delay > delay {
			delay = ra.delay
		}
		w.log.WarnContext(ctx, "event will be retried", "subject", m.Subject(), "delivery", deliveries, "retry_in", delay, "err", err)
		if err := m.NakWithDelay(delay); err != nil {
			w.log.WarnContext(ctx, "nak", "subject", m.Subject(), "err", err)
		}
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	for _, code := range obs.taxErrors {
		span.AddEvent("tax error published", trace.WithAttributes(attrTaxError.String(code)))
	}
	span.SetAttributes(attrOutcome.String(outcome))
	attrs := metric.WithAttributes(typ, metricOutcome.String(outcome))
	w.in.events.Add(ctx, 1, attrs)
	w.in.duration.Record(ctx, time.Since(start).Seconds(), attrs)
	if err == nil {
		for _, t := range obs.transitions() {
			w.in.transitions.Add(ctx, 1, metric.WithAttributes(metricFrom.String(t[0]), metricTo.String(t[1])))
		}
	}
}

// backoff is the redelivery delay of a failed event: exponential (0.5s,
// 1s, 2s … capped at 60s) with jitter between half and all of the step, so
// an event never comes straight back while AvaTax or NATS is struggling.
func backoff(delivery uint64) time.Duration {
	ceiling := 500 * time.Millisecond << min(delivery-1, 7)
	ceiling = min(ceiling, time.Minute)
	return ceiling/2 + rand.N(ceiling/2+1)
}

// deadLetter moves a message to the dead-letter stream with its payload
// intact and the reason in a header, then terminates it. It returns the
// outcome: dead_lettered, or retried when the dead letter could not be
// published.
func (w *Worker) deadLetter(ctx context.Context, m jetstream.Msg, deliveries uint64, why string, reason error) string {
	dl := nats.NewMsg(bus.DLQPrefix + m.Subject())
	dl.Data = m.Data()
	for k, v := range m.Headers() {
		switch strings.ToLower(k) {
		case "traceparent", "tracestate":
			continue // the dead letter carries the context of its own send
		}
		dl.Header[k] = v
	}
	dl.Header.Del(jetstream.MsgIDHeader)
	dl.Header.Set(bus.HeaderValidationError, reason.Error())
	dl.Header.Set(bus.HeaderDeadLetterFrom, m.Subject())
	dl.Header.Set(bus.HeaderDeliveries, strconv.FormatUint(deliveries, 10))
	if _, err := bus.PublishMsg(ctx, w.js, dl, ""); err != nil {
		// Not terminated: the message stays in the stream to be retried.
		w.log.ErrorContext(ctx, "dead-letter publish failed", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(backoff(deliveries))
		return OutcomeRetried
	}
	w.in.deadLetters.Add(ctx, 1, metric.WithAttributes(metricEventType.String(typeOfSubject(m.Subject())), metricReason.String(why)))
	w.log.WarnContext(ctx, "event dead-lettered", "subject", m.Subject(), "reason", reason.Error())
	if err := w.publishDeadLetterError(ctx, m, why, reason); err != nil {
		// The dead letter keeps the event and its reason; only the OMS's
		// notice is missing, so the message is not retried for it.
		w.log.ErrorContext(ctx, "tax error for a dead letter", "subject", m.Subject(), "err", err)
	}
	if err := m.TermWithReason(trim(reason.Error(), 200)); err != nil {
		w.log.WarnContext(ctx, "term", "subject", m.Subject(), "err", err)
	}
	return OutcomeDeadLettered
}

// Codes of the tax errors published for dead letters.
const (
	CodeInvalidEvent     = "invalid_event"
	CodeRetriesExhausted = "retries_exhausted"
)

// publishDeadLetterError tells the OMS that an event was dead-lettered,
// with a tax_error on the order's error subject: the event was invalid
// (the message names the fields) or could not be processed in its
// deliveries. Its id derives from the event's message id, so publishing it
// again is dropped as a duplicate.
func (w *Worker) publishDeadLetterError(ctx context.Context, m jetstream.Msg, why string, reason error) error {
	token := strings.TrimPrefix(m.Subject(), bus.EventsPrefix)
	if _, t, ok := strings.Cut(token, "."); ok {
		token = t
	}
	var env events.Envelope
	_ = fastjson.Unmarshal(m.Data(), &env) // best effort: the event may not even be JSON
	msgID := m.Headers().Get(jetstream.MsgIDHeader)
	if msgID == "" {
		msgID = env.ID
	}
	data := events.ErrorData{OrderID: env.Subject, Action: events.Type(typeOfSubject(m.Subject())), State: string(lifecycle.None),
		Code: CodeRetriesExhausted, Message: reason.Error() + "; the event is in the dead-letter stream: fix the cause and replay it",
		CauseEventID: msgID}
	if data.OrderID == "" || bus.Token(data.OrderID) != token {
		data.OrderID = token // the subject's, escaped as it is there
	}
	var invalid *events.InvalidError
	if why == "invalid" && errors.As(reason, &invalid) {
		data.Code, data.Message = CodeInvalidEvent, reason.Error()+"; the event was dead-lettered: correct it and send it again"
		if len(invalid.Problems) > 0 {
			data.Field, _, _ = strings.Cut(invalid.Problems[0], ": ")
		}
	}
	if rec, _, err := w.store.Get(ctx, data.OrderID); err == nil {
		data.State, data.OrderVersion = string(rec.State), rec.OrderVersion
	}
	out, err := events.New(msgID+"/dead_letter", w.opts.Source, events.TaxError, data.OrderID, w.opts.Now(), data)
	if err != nil {
		return err
	}
	if _, err := bus.Publish(ctx, w.js, bus.ErrorsPrefix+token, out, nil); err != nil {
		return err
	}
	observationOf(ctx).publishedError(data.Code)
	return nil
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Process applies one event checked by events.Validator.Inbound. A nil
// error means the event is done (applied, a duplicate, stale, or refused
// with a tax error).
func (w *Worker) Process(ctx context.Context, in *events.Inbound) error {
	env, data := in.Envelope, &in.Data
	// The AvaTax exchanges made for the event are audited under its order.
	ctx = audit.WithOrder(ctx, env.Subject, env.ID)
	defer w.orders.lock(env.Subject)()
	for attempt := 0; attempt < 20; attempt++ {
		pending, err := w.attempt(ctx, env, data)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, errRestart) {
			continue
		}
		if err == nil && pending {
			err = w.refundPending(ctx, env.Subject)
		}
		return err
	}
	return fmt.Errorf("order %s: record kept changing under event %s: %w", env.Subject, env.ID, errRetry)
}

// errRestart asks Process to read the record again and start over.
var errRestart = errors.New("restart")

// attempt applies the event to the record as read now. It reports whether
// the order has returns waiting for a refund.
func (w *Worker) attempt(ctx context.Context, env events.Envelope, data *events.OrderEvent) (bool, error) {
	rec, rev, err := w.store.Get(ctx, env.Subject)
	if err != nil {
		return false, err
	}
	// Returns waiting for the commit; one this event adds is either
	// refunded by act itself or still waits for the commit.
	pending := slices.ContainsFunc(rec.Returns, func(r store.Return) bool { return r.Pending() })
	unchanged := !env.Type.IsAction() && rec.Order != nil && data.OrderVersion <= rec.OrderVersion
	obs := observationOf(ctx)
	if obs != nil {
		obs.mu.Lock()
		obs.duplicate = rec.HasSeen(env.ID)
		obs.unchanged = unchanged
		obs.stale = env.Type.IsAction() && rec.Stale(lifecycle.Action(env.Type), data.OrderVersion)
		obs.mu.Unlock()
	}
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
		if err := w.reconcile(ctx, rec); err != nil {
			return false, err
		}
		w.unmarkUnfinished(ctx, env.Subject) // if it fails again, it is marked again
		return false, errRestart
	}
	if rec.HasSeen(env.ID) {
		w.log.DebugContext(ctx, "duplicate event", "id", env.ID, "order", env.Subject)
		return pending, nil
	}
	if unchanged {
		// A state change whose snapshot is not newer than the record's (the
		// line item groups an order or parcel change moves carry its
		// version): the record already holds all it says and applying it
		// again would change nothing, so there is nothing to write, and no
		// need to remember it to drop it later.
		return pending, nil
	}
	rec.MergeSnapshot(data.OrderVersion, data.Order)
	if !env.Type.IsAction() {
		rec.MarkSeen(env.ID)
		rec.UpdatedAt = w.opts.Now()
		_, err := w.store.Put(ctx, rec, rev)
		return pending, err
	}
	return pending, w.act(ctx, env, data, rec, rev)
}
