package worker

import (
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
)

// instrumentation is the OpenTelemetry scope of the worker's spans and
// metrics.
const instrumentation = "github.com/taxbridge/taxbridge/internal/worker"

// Attributes of the worker's spans and metrics.
const (
	attrEventType  = attribute.Key("taxbridge.event.type")
	attrEventID    = attribute.Key("cloudevents.event_id")
	attrCEType     = attribute.Key("cloudevents.event_type")
	attrOrderID    = attribute.Key("taxbridge.order.id")
	attrOutcome    = attribute.Key("taxbridge.outcome")
	attrFrom       = attribute.Key("taxbridge.state.from")
	attrTo         = attribute.Key("taxbridge.state.to")
	attrAction     = attribute.Key("taxbridge.action")
	attrEffect     = attribute.Key("taxbridge.effect")
	attrRefusal    = attribute.Key("taxbridge.refusal.code")
	attrCommitable = attribute.Key("taxbridge.facts.commitable")
	attrInStore    = attribute.Key("taxbridge.facts.order_in_store")
	attrNoRecord   = attribute.Key("taxbridge.facts.recording_disabled")
	attrChanged    = attribute.Key("taxbridge.facts.content_changed")
	attrTaxError   = attribute.Key("taxbridge.tax_error.code")
)

// Attributes of the metrics: short names, Prometheus labels as they are.
const (
	metricEventType = attribute.Key("event_type")
	metricOutcome   = attribute.Key("outcome")
	metricFrom      = attribute.Key("from")
	metricTo        = attribute.Key("to")
	metricReason    = attribute.Key("reason")
)

// Outcomes of an event, the outcome attribute of taxbridge.events.
const (
	OutcomeApplied      = "applied"       // done: the record (and AvaTax) reflect the event
	OutcomeDuplicate    = "duplicate"     // applied before
	OutcomeUnchanged    = "unchanged"     // a state change with nothing newer than the record: not written
	OutcomeStale        = "stale"         // older than the last action applied
	OutcomeRefused      = "refused"       // a tax error was published
	OutcomeDeadLettered = "dead_lettered" // invalid, or out of deliveries
	OutcomeRetried      = "retried"       // a later delivery will try again
)

// instruments are the worker's metrics.
type instruments struct {
	tracer      trace.Tracer
	meter       metric.Meter
	events      metric.Int64Counter
	duration    metric.Float64Histogram
	transitions metric.Int64Counter
	deadLetters metric.Int64Counter
	redelivered metric.Int64Counter
}

func newInstruments(tp trace.TracerProvider, mp metric.MeterProvider) instruments {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(instrumentation)
	var in instruments
	in.tracer, in.meter = tp.Tracer(instrumentation), m
	in.events, _ = m.Int64Counter("taxbridge.events", metric.WithUnit("{event}"),
		metric.WithDescription("OMS event deliveries processed, by event type and outcome (applied, duplicate, unchanged, stale, refused, dead_lettered, retried)"))
	in.duration, _ = m.Float64Histogram("taxbridge.event.duration", metric.WithUnit("s"),
		metric.WithDescription("time to process one delivery of an OMS event, from receipt to settlement"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	in.transitions, _ = m.Int64Counter("taxbridge.state.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("per-order tax state transitions, by from and to state"))
	in.deadLetters, _ = m.Int64Counter("taxbridge.dead_letters", metric.WithUnit("{event}"),
		metric.WithDescription("events moved to the dead-letter stream, by event type and reason (invalid, exhausted)"))
	in.redelivered, _ = m.Int64Counter("taxbridge.redeliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("deliveries of an event after its first, by event type"))
	return in
}

// typeOfSubject is the event type named by an oms.<type>.<order> or
// plex.<type>.<order> subject, "unknown" for types taxbridge does not
// consume (bounded cardinality).
func typeOfSubject(subject string) string {
	rest, ok := strings.CutPrefix(subject, bus.EventsPrefix)
	if !ok {
		rest, ok = strings.CutPrefix(subject, bus.PlexPrefix)
	}
	if !ok {
		return "unknown"
	}
	t, _, _ := strings.Cut(rest, ".")
	for _, k := range events.InboundTypes {
		if string(k) == t {
			return t
		}
	}
	return "unknown"
}
