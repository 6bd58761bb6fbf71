package avatax_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/telemetry"
)

// BenchmarkCreateOrAdjust is one createoradjust of a four-line sale
// against a transport that answers at once with what the sandbox answers
// for the $include the client sends (without it, lines with their details
// by jurisdiction, the summary and the addresses): the client alone, with
// the default (global, no-op) telemetry. BenchmarkStack measures the
// stack the worker uses.
func BenchmarkCreateOrAdjust(b *testing.B) {
	m := fourLineSale()
	req, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	sb := avataxsim.New()
	answer := func(query string) []byte {
		r := httptest.NewRequest(http.MethodPost, "/api/v2/transactions/createoradjust"+query, bytes.NewReader(req))
		r.SetBasicAuth(avataxsim.DefaultAccountID, avataxsim.DefaultLicenseKey)
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, r)
		if w.Code != http.StatusCreated && w.Code != http.StatusOK {
			b.Fatalf("sandbox answered %d: %s", w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	fullJSON, linesJSON := answer(""), answer("?$include=Lines")
	b.Logf("answer %d bytes, %d with $include=Lines", len(fullJSON), len(linesJSON))

	c := avatax.New("https://avatax.test", testCreds, avatax.WithHTTPClient(&http.Client{Transport: roundTripFunc(
		func(r *http.Request) (*http.Response, error) {
			body := fullJSON
			if r.URL.Query().Get("$include") == "Lines" {
				body = linesJSON
			}
			io.Copy(io.Discard, r.Body)
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateOrAdjust(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// nopPublisher stands for JetStream: the benchmarks measure the client
// side, not the append of the audit record.
type nopPublisher struct{}

func (nopPublisher) PublishMsg(context.Context, *nats.Msg, ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return &jetstream.PubAck{}, nil
}

// stackAnswers are the sandbox's answers, with the $include the client
// sends, to a createoradjust of a four-line sale, its commit and its void,
// by operation.
func stackAnswers(b testing.TB, m avatax.CreateOrAdjustTransactionModel) map[string][]byte {
	b.Helper()
	sb := avataxsim.New()
	do := func(method, path string, body any) []byte {
		in, err := json.Marshal(body)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(method, path+"?$include=Lines&documentType=SalesInvoice", bytes.NewReader(in))
		r.SetBasicAuth(avataxsim.DefaultAccountID, avataxsim.DefaultLicenseKey)
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, r)
		if w.Code != http.StatusCreated && w.Code != http.StatusOK {
			b.Fatalf("sandbox answered %s %s with %d: %s", method, path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	docPath := "/api/v2/companies/DEFAULT/transactions/" + m.CreateTransactionModel.Code
	return map[string][]byte{
		"createoradjust": do(http.MethodPost, "/api/v2/transactions/createoradjust", m),
		"commit":         do(http.MethodPost, docPath+"/commit", avatax.CommitTransactionModel{Commit: true}),
		"void":           do(http.MethodPost, docPath+"/void", avatax.VoidTransactionModel{Code: avatax.VoidDocVoided}),
	}
}

func fourLineSale() avatax.CreateOrAdjustTransactionModel {
	d := decimal.RequireFromString
	m := saleModel("WEB-100234")
	m.CreateTransactionModel.Addresses = &avatax.AddressesModel{
		ShipFrom: &avatax.AddressLocationInfo{Line1: "100 Ravine Lane NE", City: "Bainbridge Island", Region: "WA", Country: "US", PostalCode: "98110"},
		ShipTo:   &avatax.AddressLocationInfo{Line1: "2000 Main Street", City: "Irvine", Region: "CA", Country: "US", PostalCode: "92614"}}
	for i := 1; i <= 4; i++ {
		n := strconv.Itoa(i)
		m.CreateTransactionModel.Lines = append(m.CreateTransactionModel.Lines, avatax.LineItemModel{
			Number: n, Quantity: d("1"), Amount: d(n + "9.95"), TaxCode: "P0000000", ItemCode: "SKU-" + n})
	}
	return m
}

// BenchmarkStack is one call through the stack the worker uses, built as
// internal/app builds it: the client with its otelhttp transport over the
// audit transport (records to a publisher that discards them), with the
// providers telemetry.Setup makes when nothing exports (spans sampled
// out, metrics read by Prometheus) and the W3C propagator SetGlobal
// installs. "memory" answers from the transport below the audit one, at
// once; "loopback" goes over real HTTP to a server on 127.0.0.1 answering
// as the sandbox does (chunked, x-correlation-id).
func BenchmarkStack(b *testing.B) {
	m := fourLineSale()
	answers := stackAnswers(b, m)
	tel, err := telemetry.Setup(context.Background(), telemetry.WithServiceVersion("bench"),
		telemetry.WithGetenv(func(string) string { return "" }))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tel.ShutdownWithin(5 * time.Second) })
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(telemetry.Propagator)
	b.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	memory := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		body := answers[audit.Operation(r.Method, r.URL.Path)]
		return &http.Response{StatusCode: 200, ContentLength: -1, Header: http.Header{
			"Content-Type": {"application/json; charset=utf-8"}, "X-Correlation-Id": {"9c1d6f0e-3a52-4f1e-9d1a-77c1d2b0e8aa"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("x-correlation-id", "9c1d6f0e-3a52-4f1e-9d1a-77c1d2b0e8aa")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(answers[audit.Operation(r.Method, r.URL.Path)])
	}))
	b.Cleanup(srv.Close)

	ctx := audit.WithOrder(context.Background(), "WEB-100234", "EV-1")
	calls := map[string]func(*avatax.Client) error{
		"createoradjust": func(c *avatax.Client) error { _, err := c.CreateOrAdjust(ctx, m); return err },
		"commit": func(c *avatax.Client) error {
			_, err := c.Commit(ctx, "DEFAULT", m.CreateTransactionModel.Code, avatax.SalesInvoice)
			return err
		},
		"void": func(c *avatax.Client) error {
			_, err := c.Void(ctx, "DEFAULT", m.CreateTransactionModel.Code, avatax.SalesInvoice, avatax.VoidDocVoided)
			return err
		},
	}
	for _, via := range []string{"memory", "loopback"} {
		for _, op := range []string{"createoradjust", "commit", "void"} {
			b.Run(via+"/"+op, func(b *testing.B) {
				var base http.RoundTripper = memory
				url := "https://avatax.test"
				if via == "loopback" {
					t := http.DefaultTransport.(*http.Transport).Clone()
					t.MaxIdleConnsPerHost = 16
					base, url = t, srv.URL
					b.Cleanup(t.CloseIdleConnections)
				}
				tr := audit.NewTransport(base, audit.WithPublisher(nopPublisher{}), audit.WithCredentials(testAccount, testKey),
					audit.WithMeterProvider(tel.MeterProvider))
				c := avatax.New(url, testCreds, avatax.WithTimeout(10*time.Second), avatax.WithClientHeader("taxbridge", "bench"),
					avatax.WithHTTPClient(&http.Client{Transport: tr}),
					avatax.WithTracerProvider(tel.TracerProvider), avatax.WithMeterProvider(tel.MeterProvider),
					avatax.WithRetry(avatax.RetryPolicy{MaxElapsed: 20 * time.Second}),
					avatax.WithMaxConcurrency(16), avatax.WithRateLimit(0, 0))
				call := calls[op]
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					if err := call(c); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
	}
}

// reportCPU reports the CPU time per operation since start, all threads
// included: on a machine shared with other jobs, it moves less than the
// wall time of ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	if used := cpuTime() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
