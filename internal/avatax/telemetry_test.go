package avatax_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// TestSpans: one span per call named "avatax <op>" with the operation,
// the document code and, on failure, AvaTax's error code; one otelhttp
// child span per request; no span, attribute or event carries the
// license key or the Basic token.
func TestSpans(t *testing.T) {
	t.Parallel()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/createoradjust"):
			ok(w, doc("SO-11", avatax.SalesInvoice, avatax.StatusSaved))
		case strings.HasSuffix(r.URL.Path, "/commit") && n == 1:
			fail(w, 500, "InternalServerError")
		case strings.HasSuffix(r.URL.Path, "/SO-11"):
			ok(w, doc("SO-11", avatax.SalesInvoice, avatax.StatusCommitted))
		default:
			fail(w, 404, "EntityNotFoundError")
		}
	})
	c := f.client(avatax.WithTracerProvider(tp))
	ctx := context.Background()
	if _, err := c.CreateOrAdjust(ctx, saleModel("SO-11")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Commit(ctx, "DEFAULT", "SO-11", avatax.SalesInvoice); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "DEFAULT", "NOPE", avatax.SalesInvoice); !avatax.IsNotFound(err) {
		t.Fatalf("Get: %v", err)
	}
	wrong := avatax.New(f.srv.URL, avatax.Credentials{AccountID: testAccount, LicenseKey: testKey + "x"}, avatax.WithTracerProvider(tp))
	if _, err := wrong.Ping(ctx); avatax.KindOf(err) != avatax.KindAuth {
		t.Fatalf("Ping: %v", err)
	}

	spans := sr.Ended()
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
		// Nothing anywhere in the span may carry the secret.
		texts := []string{s.Name(), s.Status().Description, fmt.Sprint(s.Attributes())}
		for _, ev := range s.Events() {
			texts = append(texts, ev.Name, fmt.Sprint(ev.Attributes))
		}
		for _, l := range s.Links() {
			texts = append(texts, fmt.Sprint(l.Attributes))
		}
		for _, kv := range s.Resource().Attributes() {
			texts = append(texts, kv.Value.Emit())
		}
		for _, text := range texts {
			if containsSecret(text) {
				t.Errorf("span %q carries a secret: %s", s.Name(), text)
			}
		}
		if a := attrMap(s.Attributes()); a["http.request.header.authorization"] != "" {
			t.Errorf("span %q records the Authorization header", s.Name())
		}
	}

	coa := byName["avatax createoradjust"]
	if len(coa) != 1 {
		t.Fatalf("spans: %v", names(spans))
	}
	a := attrMap(coa[0].Attributes())
	if a["avatax.operation"] != "createoradjust" || a["avatax.document_code"] != "SO-11" || a["avatax.attempts"] != "1" {
		t.Errorf("createoradjust attributes %v", a)
	}
	if coa[0].SpanKind() != trace.SpanKindInternal {
		t.Errorf("logical span kind %s", coa[0].SpanKind())
	}
	http := byName["POST /api/v2/transactions/createoradjust"]
	if len(http) != 1 || http[0].Parent().SpanID() != coa[0].SpanContext().SpanID() || http[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("no otelhttp child span of createoradjust: %v", names(spans))
	}

	commit := byName["avatax commit"]
	if len(commit) != 1 {
		t.Fatalf("spans: %v", names(spans))
	}
	a = attrMap(commit[0].Attributes())
	if a["avatax.recovered"] != "true" || a["avatax.checks"] != "1" || a["avatax.error_code"] != "" {
		t.Errorf("commit attributes %v", a)
	}
	if n := len(byName["POST /api/v2/companies/{companyCode}/transactions/{transactionCode}/commit"]); n != 1 {
		t.Errorf("%d commit requests traced, want 1", n)
	}

	get := byName["avatax get"]
	if len(get) != 1 {
		t.Fatalf("spans: %v", names(spans))
	}
	a = attrMap(get[0].Attributes())
	if a["avatax.error_code"] != "EntityNotFoundError" || a["avatax.error_kind"] != "not_found" || a["avatax.document_code"] != "NOPE" {
		t.Errorf("get attributes %v", a)
	}
	if get[0].Status().Code.String() != "Error" || len(get[0].Events()) == 0 {
		t.Errorf("failed get: status %v, events %v", get[0].Status(), get[0].Events())
	}
	if a := attrMap(byName["avatax ping"][0].Attributes()); a["avatax.error_code"] != "AuthenticationException" {
		t.Errorf("ping attributes %v", a)
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// TestMetrics: otelhttp's request duration and the client's retry counter
// reach the meter provider.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			fail(w, 429, "RequestLimitExceeded")
			return
		}
		ok(w, avatax.PingResultModel{})
	})
	if _, err := f.client(avatax.WithMeterProvider(mp)).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found[m.Name] = true
			if m.Name == "avatax.client.retries" {
				sum := m.Data.(metricdata.Sum[int64])
				if len(sum.DataPoints) != 1 || sum.DataPoints[0].Value != 1 {
					t.Errorf("retries %+v", sum.DataPoints)
				}
				if v, _ := sum.DataPoints[0].Attributes.Value("reason"); v.AsString() != "RequestLimitExceeded" {
					t.Errorf("retry reason %v", v)
				}
			}
		}
	}
	if !found["avatax.client.retries"] || !found["http.client.request.duration"] {
		t.Errorf("metrics %v", found)
	}
}
