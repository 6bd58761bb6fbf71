// Package telemetry sets up taxbridge's OpenTelemetry providers from the
// standard OTEL_* environment: traces and metrics exporters chosen with
// go.opentelemetry.io/contrib/exporters/autoexport, a Prometheus endpoint
// fed by the same metrics, the service resource, and a log/slog handler
// that stamps every record with the trace and span of its context.
//
// Nothing here touches the OpenTelemetry globals except SetGlobal, which
// only the binary calls: tests build their own providers and inject them.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of taxbridge's telemetry unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
const ServiceName = "taxbridge"

// settings are what the Options of Setup set.
type settings struct {
	serviceName, serviceVersion string
	getenv                      func(string) string
}

// Option configures Setup.
type Option func(*settings)

// WithServiceName sets the resource's service.name (default ServiceName).
func WithServiceName(name string) Option { return func(s *settings) { s.serviceName = name } }

// WithServiceVersion sets the resource's service.version.
func WithServiceVersion(version string) Option {
	return func(s *settings) { s.serviceVersion = version }
}

// WithGetenv sets what reads the environment (default os.Getenv).
// autoexport itself always reads the process environment; getenv only
// decides whether an exporter was asked for at all.
func WithGetenv(getenv func(string) string) Option { return func(s *settings) { s.getenv = getenv } }

// Telemetry holds the providers taxbridge reports through.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Metrics serves the metrics in the Prometheus text format (/metrics).
	Metrics http.Handler
	// TracesExporter and MetricsExporter name the exporters in use:
	// "none", "console", "otlp", … ("prometheus" pull is always on).
	TracesExporter, MetricsExporter string

	shutdown []func(context.Context) error
}

// Setup builds the providers from the environment:
//
//   - OTEL_TRACES_EXPORTER: otlp, console or none. Unset means none (not
//     autoexport's otlp default), so a bare taxbridge does not try to reach
//     a collector that is not there. Spans then get ids, so logs, the
//     audit trail and published events carry the trace, but are not
//     recorded.
//   - OTEL_METRICS_EXPORTER: otlp, console, prometheus or none, for push
//     (or autoexport's own Prometheus server). Unset means none; the
//     Prometheus text format is always served by Metrics.
//   - OTEL_EXPORTER_OTLP_* , OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
//     OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_METRIC_EXPORT_INTERVAL as the
//     OpenTelemetry SDK documents them.
func Setup(ctx context.Context, opts ...Option) (*Telemetry, error) {
	var o settings
	for _, opt := range opts {
		opt(&o)
	}
	if o.getenv == nil {
		o.getenv = os.Getenv
	}
	if o.serviceName == "" {
		o.serviceName = ServiceName
	}
	res, err := Resource(ctx, o.serviceName, o.serviceVersion)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{TracesExporter: "none", MetricsExporter: "none"}
	ok := false
	defer func() {
		if !ok {
			_ = t.Shutdown(context.Background())
		}
	}()

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if name := strings.TrimSpace(o.getenv("OTEL_TRACES_EXPORTER")); name != "" {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTEL_TRACES_EXPORTER %q: %w", name, err)
		}
		if !autoexport.IsNoneSpanExporter(exp) {
			tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
			t.TracesExporter = name
		}
	}
	if t.TracesExporter == "none" {
		// Nothing would read recorded spans: keep their ids (logs, audit
		// records and published events still carry the trace) without
		// the cost of recording them.
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	t.shutdown = append(t.shutdown, tp.Shutdown)
	t.TracerProvider = tp

	reg := prometheus.NewRegistry()
	prom, err := promexporter.New(promexporter.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(prom)}
	if name := strings.TrimSpace(o.getenv("OTEL_METRICS_EXPORTER")); name != "" {
		r, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTEL_METRICS_EXPORTER %q: %w", name, err)
		}
		if !autoexport.IsNoneMetricReader(r) {
			mpOpts = append(mpOpts, sdkmetric.WithReader(r))
			t.MetricsExporter = name
		}
	}
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	t.shutdown = append(t.shutdown, mp.Shutdown)
	t.MeterProvider = mp
	t.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	ok = true
	return t, nil
}

// Resource describes the taxbridge process: service.name and
// service.version, then whatever OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES add or override.
func Resource(ctx context.Context, name, version string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if version != "" {
		attrs = append(attrs, semconv.ServiceVersion(version))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(attrs...),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	// A partial resource (a detector failed) is still worth using.
	return res, nil
}

// Shutdown flushes and stops the providers, within ctx.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(t.shutdown) - 1; i >= 0; i-- {
		if err := t.shutdown[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	t.shutdown = nil
	return errors.Join(errs...)
}

// ShutdownWithin is Shutdown bounded by d.
func (t *Telemetry) ShutdownWithin(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return t.Shutdown(ctx)
}

// SetGlobal installs the providers and the W3C propagator as the
// OpenTelemetry globals, for code that has no provider injected.
func (t *Telemetry) SetGlobal() {
	otel.SetTracerProvider(t.TracerProvider)
	otel.SetMeterProvider(t.MeterProvider)
	otel.SetTextMapPropagator(Propagator)
}

// Propagator is W3C trace context and baggage: traceparent, tracestate and
// baggage, keys in lower case.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Tracer returns a tracer named name from tp; with tp nil, from the
// provider of the span in ctx when it records (so work inside an injected
// provider's span stays in that provider), else from the global provider.
func Tracer(ctx context.Context, tp trace.TracerProvider, name string) trace.Tracer {
	if tp == nil {
		if s := trace.SpanFromContext(ctx); s.IsRecording() {
			tp = s.TracerProvider()
		} else {
			tp = otel.GetTracerProvider()
		}
	}
	return tp.Tracer(name)
}
