package bus

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/telemetry"
)

// instrumentation is the OpenTelemetry scope of the bus's spans.
const instrumentation = "github.com/taxbridge/taxbridge/internal/bus"

// MessagingSystem is the messaging.system of taxbridge's spans. "nats" is
// not (yet) a registered value of the semantic conventions; the attribute
// allows custom values.
const MessagingSystem = "nats"

// Attributes of NATS specifics, provisional until the semantic
// conventions define them.
const (
	AttrStream         = attribute.Key("messaging.nats.stream")
	AttrStreamSequence = attribute.Key("messaging.nats.stream_sequence")
	AttrDeliveries     = attribute.Key("messaging.nats.delivery_count")
)

// HeaderCarrier adapts nats.Header to the OpenTelemetry TextMapCarrier.
// Unlike propagation.HeaderCarrier (which goes through http.Header and
// writes "Traceparent"), it writes the keys as the propagator gives them,
// the W3C lower case traceparent and tracestate, so that clients in other
// languages find them. Reading falls back to a case-insensitive match, for
// producers that wrote canonical MIME keys.
type HeaderCarrier nats.Header

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces the values of key.
func (c HeaderCarrier) Set(key, value string) { c[key] = []string{value} }

// Keys lists the keys present.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes the trace context of ctx (W3C traceparent, tracestate and
// baggage, lower-case keys) into h.
func Inject(ctx context.Context, h nats.Header) {
	telemetry.Propagator.Inject(ctx, HeaderCarrier(h))
}

// Extract returns ctx with the remote trace context found in h, if any.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return telemetry.Propagator.Extract(ctx, HeaderCarrier(h))
}

// PublishOption tunes Publish and PublishMsg.
type PublishOption func(*publishSettings)

type publishSettings struct {
	tp trace.TracerProvider
}

// WithTracerProvider makes the send span with tp. Without it, the span
// comes from the provider of the span in the context, else the global one.
func WithTracerProvider(tp trace.TracerProvider) PublishOption {
	return func(s *publishSettings) { s.tp = tp }
}

// PublishMsg sends msg to JetStream under a PRODUCER span ("send
// <destination>") whose context it injects into the headers, so the
// consumer's span continues the trace.
func PublishMsg(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, msgID string, opts ...PublishOption) (*jetstream.PubAck, error) {
	var s publishSettings
	for _, o := range opts {
		o(&s)
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystem),
		semconv.MessagingDestinationName(msg.Subject),
		semconv.MessagingDestinationTemplate(SubjectTemplate(msg.Subject)),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName("send"),
		semconv.MessagingMessageBodySize(len(msg.Data)),
	}
	if msgID != "" {
		attrs = append(attrs, semconv.MessagingMessageID(msgID))
	}
	ctx, span := telemetry.Tracer(ctx, s.tp, instrumentation).Start(ctx, "send "+SubjectTemplate(msg.Subject),
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	defer span.End()
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	Inject(ctx, msg.Header)
	var popts []jetstream.PublishOpt
	if msgID != "" {
		popts = append(popts, jetstream.WithMsgID(msgID))
	}
	ack, err := js.PublishMsg(ctx, msg, popts...)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	span.SetAttributes(AttrStream.String(ack.Stream), AttrStreamSequence.Int64(int64(ack.Sequence)))
	if ack.Duplicate {
		span.SetAttributes(attribute.Bool("messaging.nats.duplicate", true))
	}
	return ack, nil
}

// SubjectTemplate is the subject without its last token (the order), the
// low-cardinality name of a destination: tax.results.WEB-3 → tax.results.
func SubjectTemplate(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i > 0 {
		return subject[:i]
	}
	return subject
}

// DeliveryAttrs describes a delivered message for a CONSUMER span.
func DeliveryAttrs(m jetstream.Msg) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystem),
		semconv.MessagingDestinationName(m.Subject()),
		semconv.MessagingDestinationTemplate(SubjectTemplate(m.Subject())),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingMessageBodySize(len(m.Data())),
	}
	if h := m.Headers(); h != nil {
		if id := h.Get(jetstream.MsgIDHeader); id != "" {
			attrs = append(attrs, semconv.MessagingMessageID(id))
		}
	}
	if md, err := m.Metadata(); err == nil {
		attrs = append(attrs,
			semconv.MessagingConsumerGroupName(md.Consumer),
			AttrStream.String(md.Stream),
			AttrStreamSequence.Int64(int64(md.Sequence.Stream)),
			AttrDeliveries.Int64(int64(md.NumDelivered)))
	}
	return attrs
}
