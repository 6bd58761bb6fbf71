package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestLogsCarryTraceAndSpanIDs(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo).With("component", "test")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var in, out map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil {
		t.Fatal(err)
	}
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() || in["component"] != "test" {
		t.Errorf("record inside a span: %v", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("record outside a span has a trace_id: %v", out)
	}
}

func TestSetupDefaultsToNoExportAndServesMetrics(t *testing.T) {
	env := func(string) string { return "" }
	tel, err := Setup(context.Background(), WithServiceVersion("1.2.3"), WithGetenv(env))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.ShutdownWithin(0)
	if tel.TracesExporter != "none" || tel.MetricsExporter != "none" {
		t.Errorf("exporters %s/%s, want none/none when OTEL_* is unset", tel.TracesExporter, tel.MetricsExporter)
	}
	c, _ := tel.MeterProvider.Meter("t").Int64Counter("taxbridge.test")
	c.Add(context.Background(), 2)
	rec := httptest.NewRecorder()
	tel.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{"taxbridge_test_total", `service_name="taxbridge"`, `service_version="1.2.3"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	// Spans still get ids, so logs and audit records carry trace ids, but
	// nothing records them for an exporter that is not there.
	_, span := tel.TracerProvider.Tracer("t").Start(context.Background(), "x")
	if !span.SpanContext().IsValid() {
		t.Error("no valid span without an exporter")
	}
	if span.IsRecording() {
		t.Error("span recorded with no exporter to send it to")
	}
	span.End()
}

func TestSetupHonoursOTELExporters(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	tel, err := Setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tel.TracesExporter != "console" || tel.MetricsExporter != "none" {
		t.Errorf("exporters %s/%s", tel.TracesExporter, tel.MetricsExporter)
	}
	_ = tel.ShutdownWithin(0)

	t.Setenv("OTEL_TRACES_EXPORTER", "carrier-pigeon")
	if _, err := Setup(context.Background()); err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_EXPORTER") {
		t.Errorf("unknown exporter: err = %v", err)
	}
}
