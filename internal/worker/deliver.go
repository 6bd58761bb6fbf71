package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
)

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
	if deliveries > 1 {
		w.in.redelivered.Add(ctx, 1, metric.WithAttributes(typ))
	}

	in, err := w.validator.Inbound(m.Data())
	if err == nil {
		err = events.CheckSubject(m.Subject(), &in)
	}
	var out Outcome
	if err == nil {
		span.SetAttributes(attrEventID.String(in.ID), attrCEType.String(string(in.Type)), attrOrderID.String(in.Subject))
		out, err = w.Process(ctx, &in)
	}
	var outcome string
	var invalid *events.InvalidError
	switch {
	case err == nil:
		outcome = out.Kind
		if err := m.Ack(); err != nil {
			w.log.WarnContext(ctx, "ack", "subject", m.Subject(), "err", err)
		}
	case errors.As(err, &invalid):
		outcome = w.deadLetter(ctx, span, m, deliveries, "invalid", err)
	case deliveries >= uint64(w.opts.MaxDeliver):
		// An intent the event left is the sweep's to finish now.
		w.markUnfinished(ctx, in.Subject)
		outcome = w.deadLetter(ctx, span, m, deliveries, "exhausted", fmt.Errorf("gave up after %d deliveries: %w", deliveries, err))
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
	for _, code := range out.TaxErrors {
		span.AddEvent("tax error published", trace.WithAttributes(attrTaxError.String(code)))
	}
	span.SetAttributes(attrOutcome.String(outcome))
	attrs := metric.WithAttributes(typ, metricOutcome.String(outcome))
	w.in.events.Add(ctx, 1, attrs)
	w.in.duration.Record(ctx, time.Since(start).Seconds(), attrs)
	if err == nil {
		for _, t := range out.Transitions {
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
func (w *Worker) deadLetter(ctx context.Context, span trace.Span, m jetstream.Msg, deliveries uint64, why string, reason error) string {
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
	if err := w.pub.PublishMsg(ctx, dl); err != nil {
		// Not terminated: the message stays in the stream to be retried.
		w.log.ErrorContext(ctx, "dead-letter publish failed", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(backoff(deliveries))
		return OutcomeRetried
	}
	w.in.deadLetters.Add(ctx, 1, metric.WithAttributes(metricEventType.String(typeOfSubject(m.Subject())), metricReason.String(why)))
	w.log.WarnContext(ctx, "event dead-lettered", "subject", m.Subject(), "reason", reason.Error())
	if code, err := w.publishDeadLetterError(ctx, m, why, reason); err != nil {
		// The dead letter keeps the event and its reason; only the OMS's
		// notice is missing, so the message is not retried for it.
		w.log.ErrorContext(ctx, "tax error for a dead letter", "subject", m.Subject(), "err", err)
	} else {
		span.AddEvent("tax error published", trace.WithAttributes(attrTaxError.String(code)))
	}
	if err := m.TermWithReason(trim(reason.Error(), 200)); err != nil {
		w.log.WarnContext(ctx, "term", "subject", m.Subject(), "err", err)
	}
	return OutcomeDeadLettered
}

// Codes of the tax errors the worker publishes besides the state
// machine's refusals (lifecycle.Refused*) and AvaTax's refusals
// (avatax_<kind>_error). schemas/tax_error.schema.json lists them all.
const (
	CodeInvalidOrderData = "invalid_order_data" // the order's data or the configuration is wrong; field names it
	CodeInvalidAddress   = "invalid_address"    // AvaTax cannot resolve an address; field names it
	CodeInvalidEvent     = "invalid_event"      // dead-lettered: the event is invalid
	CodeRetriesExhausted = "retries_exhausted"  // dead-lettered: no delivery could process it
)

// publishDeadLetterError tells the OMS that an event was dead-lettered,
// with a tax_error on the order's error subject: the event was invalid
// (the message names the fields) or could not be processed in its
// deliveries. Its id derives from the event's message id, so publishing it
// again is dropped as a duplicate.
func (w *Worker) publishDeadLetterError(ctx context.Context, m jetstream.Msg, why string, reason error) (string, error) {
	token := strings.TrimPrefix(strings.TrimPrefix(m.Subject(), bus.EventsPrefix), bus.PlexPrefix)
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
	if rec, _, err := w.records.Get(ctx, data.OrderID); err == nil {
		data.State, data.OrderVersion = string(rec.State), rec.OrderVersion
	}
	out, err := events.New(msgID+"/dead_letter", w.opts.Source, events.TaxError, data.OrderID, w.opts.Now(), data)
	if err != nil {
		return "", err
	}
	return data.Code, w.pub.Publish(ctx, bus.ErrorsPrefix+token, out)
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
