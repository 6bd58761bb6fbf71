package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/events"
)

func TestCarrierWritesLowerCaseW3CKeys(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "x")
	defer span.End()
	h := nats.Header{}
	Inject(ctx, h)
	if len(h["traceparent"]) != 1 {
		t.Fatalf("headers %v: want a lower-case traceparent", h)
	}
	if _, ok := h["Traceparent"]; ok {
		t.Fatal("canonical-case Traceparent written")
	}
	got := trace.SpanContextFromContext(Extract(context.Background(), h))
	if got.TraceID() != span.SpanContext().TraceID() || !got.IsRemote() {
		t.Fatalf("extracted %v, want the injected span", got)
	}

	// A Go producer that used propagation.HeaderCarrier wrote canonical
	// keys: still found.
	canon := nats.Header{}
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(canon))
	if _, ok := canon["Traceparent"]; !ok {
		t.Fatalf("setup: %v", canon)
	}
	if got := trace.SpanContextFromContext(Extract(context.Background(), canon)); got.TraceID() != span.SpanContext().TraceID() {
		t.Fatal("canonical-case traceparent not extracted")
	}
}

func TestPublishIsAProducerSpanAndCarriesIt(t *testing.T) {
	js := startJetStream(t)
	ctx := context.Background()
	if _, err := Provision(ctx, js, DefaultTopology); err != nil {
		t.Fatal(err)
	}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	env, err := events.New("E-1", "test", events.RefreshOrderTaxes, "A.1", time.Now(), map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	subject := EventSubject(env.Type, "A.1")
	if _, err := Publish(ctx, js, subject, env, nil, WithTracerProvider(tp)); err != nil {
		t.Fatal(err)
	}
	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Name() != "send oms.refresh_order_taxes" || s.SpanKind() != trace.SpanKindProducer {
		t.Errorf("span %s %s", s.SpanKind(), s.Name())
	}
	want := map[string]string{"messaging.system": "nats", "messaging.destination.name": subject,
		"messaging.operation.type": "send", "messaging.message.id": "E-1", "messaging.nats.stream": EventsStream}
	for _, kv := range s.Attributes() {
		if w, ok := want[string(kv.Key)]; ok {
			if kv.Value.Emit() != w {
				t.Errorf("%s = %s, want %s", kv.Key, kv.Value.Emit(), w)
			}
			delete(want, string(kv.Key))
		}
	}
	if len(want) > 0 {
		t.Errorf("missing attributes %v", want)
	}
	stream, _ := js.Stream(ctx, EventsStream)
	m, err := stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	if tp := m.Header.Get("traceparent"); tp != "00-"+s.SpanContext().TraceID().String()+"-"+s.SpanContext().SpanID().String()+"-01" {
		t.Errorf("traceparent %q does not name the send span", tp)
	}
	if m.Header.Get(jetstream.MsgIDHeader) != "E-1" {
		t.Errorf("Nats-Msg-Id = %q", m.Header.Get(jetstream.MsgIDHeader))
	}
}

func TestAuditStreamIsProvisioned(t *testing.T) {
	js := startJetStream(t)
	ctx := context.Background()
	topo := DefaultTopology
	topo.AuditMaxAge = time.Hour
	if _, err := Provision(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, AuditStream)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.MaxAge != time.Hour || len(c.Subjects) != 1 || c.Subjects[0] != "tax.audit.>" {
		t.Errorf("audit stream config: %+v", c)
	}
	if got := AuditSubject("A.1"); got != "tax.audit.A_2E1" {
		t.Errorf("AuditSubject = %s", got)
	}
	if SubjectTemplate("tax.results.WEB-1") != "tax.results" {
		t.Error("SubjectTemplate")
	}
}
