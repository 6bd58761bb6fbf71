// Package telemetry tests taxbridge's observability end to end: the whole
// app (embedded NATS, the built-in sandbox over HTTP, the worker, the
// audit trail and the HTTP listener) wired as the binary wires it, with
// spans captured in memory, metrics read from /metrics and logs from a
// buffer.
package telemetry

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/store"
	tel "github.com/taxbridge/taxbridge/internal/telemetry"
	"github.com/taxbridge/taxbridge/internal/testwait"
)

type harness struct {
	t     *testing.T
	ctx   context.Context
	app   *app.App
	spans *tracetest.SpanRecorder
	tp    *sdktrace.TracerProvider
	logs  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a taxbridge as `taxbridge run` does, with no global
// OpenTelemetry state: its own span recorder, its own meter provider
// (Prometheus text on /metrics), debug logs as JSON into a buffer.
func start(t *testing.T) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	metrics, err := tel.Setup(ctx, tel.WithServiceVersion("test"), tel.WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := tel.NewLogger(logs, slog.LevelDebug)
	cfg := &config.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", AvaTaxTimeout: 5 * time.Second,
		Concurrency: 4, AckWait: 5 * time.Second, MaxDeliver: 20, LogLevel: "debug",
		HTTPListen: "127.0.0.1:0", AuditMaxAge: time.Hour,
	}
	a, err := app.Start(ctx, cfg, log, app.WithTelemetry(tp, metrics.MeterProvider, metrics.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		a.Close()
		_ = tp.Shutdown(context.Background())
		_ = metrics.ShutdownWithin(time.Second)
	})
	return &harness{t: t, ctx: ctx, app: a, spans: sr, tp: tp, logs: logs}
}

// publish sends an event as an OMS instrumented with OpenTelemetry would:
// under a send span of the same tracer provider.
func (h *harness) publish(env events.Envelope) {
	h.t.Helper()
	if _, err := bus.Publish(h.ctx, h.app.JS, bus.EventSubject(env.Type, env.Subject), env, nil,
		bus.WithTracerProvider(h.tp)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	testwait.Eventually(h.t, what, cond)
}

func (h *harness) record(orderID string) *store.Record {
	h.t.Helper()
	rec, _, err := h.app.Store.Get(h.ctx, orderID)
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

// apply publishes each event and waits until it is applied and its
// process span has ended.
func (h *harness) apply(evs ...events.Envelope) {
	h.t.Helper()
	for _, e := range evs {
		h.publish(e)
		h.eventually("event "+e.ID+" applied", func() bool {
			rec := h.record(e.Subject)
			return rec.HasSeen(e.ID) && rec.Intent == nil
		})
		h.eventually("process span of "+e.ID, func() bool { return h.processSpan(e.ID) != nil })
	}
}

// processSpan is the ended process span of the event's delivery.
func (h *harness) processSpan(eventID string) sdktrace.ReadOnlySpan {
	for _, s := range h.spans.Ended() {
		if s.SpanKind().String() == "consumer" && attr(s, "messaging.message.id") == eventID {
			return s
		}
	}
	return nil
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.app.HTTPAddr + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
