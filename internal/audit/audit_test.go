package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fakePublisher struct {
	mu   sync.Mutex
	msgs []*nats.Msg
	err  error
}

func (p *fakePublisher) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	p.msgs = append(p.msgs, m)
	return &jetstream.PubAck{}, nil
}

const (
	account = "1100000001"
	key     = "the-license-key"
)

// echo answers with a body that repeats the request, Authorization
// included, as a misbehaving proxy might.
func echo(status int) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
		}
		out, _ := json.Marshal(map[string]any{"code": "DOC-1", "status": "Committed",
			"echo": r.Header.Get("Authorization"), "key": key, "got": string(body)})
		if status >= 300 {
			out = []byte(`{"error":{"code":"DocumentNotFoundError","message":"no doc ` + key + `"}}`)
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"},
			"Set-Cookie": {"s=1"}, "X-Correlation-Id": {"c-1"}}, Body: io.NopCloser(bytes.NewReader(out)), Request: r}, nil
	})
}

func newRequest(t *testing.T, ctx context.Context, method, url, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	r.SetBasicAuth(account, key)
	r.Header.Set("X-Avalara-Client", "taxbridge; dev")
	return r
}

func TestRecordsTheExchangeWithoutCredentials(t *testing.T) {
	pub := &fakePublisher{}
	tr := NewTransport(echo(200), WithPublisher(pub), WithCredentials(account, key))
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "call")
	ctx = WithOrder(ctx, "WEB.1", "EV-1")
	body := `{"createTransactionModel":{"code":"WEB.1","lines":[]}}`
	resp, err := tr.RoundTrip(newRequest(t, ctx, "POST", "https://u:p@avatax.test/api/v2/transactions/createoradjust", body))
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	// The client still reads the whole, unchanged answer.
	if !strings.Contains(string(got), key) || !strings.Contains(string(got), `"got":"{\"createTransactionModel`) {
		t.Fatalf("answer altered: %s", got)
	}
	if len(pub.msgs) != 1 {
		t.Fatalf("%d records", len(pub.msgs))
	}
	m := pub.msgs[0]
	if m.Subject != "tax.audit.WEB_2E1" {
		t.Errorf("subject %s", m.Subject)
	}
	token := base64.StdEncoding.EncodeToString([]byte(account + ":" + key))
	for _, secret := range []string{key, token, "u:p@"} {
		if bytes.Contains(m.Data, []byte(secret)) {
			t.Errorf("record contains %q: %s", secret, m.Data)
		}
	}
	var rec Record
	if err := json.Unmarshal(m.Data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.OrderID != "WEB.1" || rec.EventID != "EV-1" || rec.Operation != "createoradjust" || rec.DocumentCode != "DOC-1" ||
		rec.TraceID != span.SpanContext().TraceID().String() || rec.SpanID != span.SpanContext().SpanID().String() ||
		rec.Response == nil || rec.Response.Status != 200 || rec.RoundTripMS < 0 {
		t.Errorf("record: %+v", rec)
	}
	if _, ok := rec.Request.Headers["Authorization"]; ok {
		t.Error("Authorization header recorded")
	}
	if _, ok := rec.Response.Headers["Set-Cookie"]; ok {
		t.Error("Set-Cookie recorded")
	}
	if rec.Request.Headers["X-Avalara-Client"][0] != "taxbridge; dev" || rec.Response.Headers["X-Correlation-Id"][0] != "c-1" {
		t.Errorf("headers: %v %v", rec.Request.Headers, rec.Response.Headers)
	}
	if !json.Valid(rec.Request.Body) || !strings.Contains(string(rec.Request.Body), `"createTransactionModel"`) {
		t.Errorf("request body: %s", rec.Request.Body)
	}
}

func TestErrorsAndFailuresAreRecorded(t *testing.T) {
	pub := &fakePublisher{}
	tr := NewTransport(echo(404), WithPublisher(pub), WithCredentials(account, key))
	ctx := WithOrder(context.Background(), "WEB-2", "EV-2")
	resp, err := tr.RoundTrip(newRequest(t, ctx, "GET", "https://avatax.test/api/v2/companies/DEFAULT/transactions/A_-ava2f-_B?documentType=SalesInvoice", ""))
	if err != nil || resp.StatusCode != 404 {
		t.Fatal(resp, err)
	}
	var rec Record
	_ = json.Unmarshal(pub.msgs[0].Data, &rec)
	if rec.Operation != "get" || rec.DocumentCode != "A/B" || rec.AvaTaxErrorCode != "DocumentNotFoundError" {
		t.Errorf("record: %+v", rec)
	}
	if bytes.Contains(pub.msgs[0].Data, []byte(key)) {
		t.Error("echoed key recorded")
	}

	down := NewTransport(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") }),
		WithPublisher(pub), WithCredentials(account, key))
	if _, err := down.RoundTrip(newRequest(t, ctx, "POST", "https://avatax.test/api/v2/companies/DEFAULT/transactions/WEB-2/void", `{"code":"DocVoided"}`)); err == nil {
		t.Fatal("error swallowed")
	}
	rec = Record{}
	_ = json.Unmarshal(pub.msgs[1].Data, &rec)
	if rec.Operation != "void" || rec.Response != nil || !strings.Contains(rec.Error, "connection refused") || rec.DocumentCode != "WEB-2" {
		t.Errorf("failure record: %+v", rec)
	}
}

func TestAnAuditOutageDoesNotFailTheCall(t *testing.T) {
	pub := &fakePublisher{err: errors.New("nats down")}
	tr := NewTransport(echo(200), WithPublisher(pub))
	resp, err := tr.RoundTrip(newRequest(t, WithOrder(context.Background(), "W", "E"), "POST", "https://avatax.test/api/v2/transactions/createoradjust", "{}"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
}

func TestPingsOutsideOrdersAreNotRecorded(t *testing.T) {
	pub := &fakePublisher{}
	tr := NewTransport(echo(200), WithPublisher(pub))
	if _, err := tr.RoundTrip(newRequest(t, context.Background(), "GET", "https://avatax.test/api/v2/utilities/ping", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RoundTrip(newRequest(t, context.Background(), "GET", "https://avatax.test/api/v2/companies/C/transactions/X", "")); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 1 || pub.msgs[0].Subject != "tax.audit._none" {
		t.Fatalf("records: %d", len(pub.msgs))
	}
}

func TestOperation(t *testing.T) {
	for _, tt := range []struct{ method, path, want string }{
		{"POST", "/api/v2/transactions/createoradjust", "createoradjust"},
		{"POST", "/api/v2/transactions/create", "create"},
		{"GET", "/api/v2/companies/C/transactions/X", "get"},
		{"POST", "/api/v2/companies/C/transactions/X/commit", "commit"},
		{"POST", "/api/v2/companies/C/transactions/X/void", "void"},
		{"POST", "/api/v2/companies/C/transactions/X/refund", "refund"},
		{"POST", "/api/v2/addresses/resolve", "resolve"},
		{"GET", "/api/v2/utilities/ping", "ping"},
		{"GET", "/api/v2/companies", "other"},
	} {
		if got := Operation(tt.method, tt.path); got != tt.want {
			t.Errorf("Operation(%s %s) = %s, want %s", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestLongBodiesAreTruncated(t *testing.T) {
	tr := NewTransport(nil, WithMaxBody(10))
	b, cut := tr.body([]byte(`{"a":"0123456789"}`))
	var s string
	if !cut || json.Unmarshal(b, &s) != nil || s != `{"a":"0123` {
		t.Errorf("body %s cut %v", b, cut)
	}
}

// The AvaTax client names the document of each request (avatax.DocumentCode):
// the record takes it from there, without reading the bodies, and keeps
// the credentials out as for any other request.
func TestDocumentCodeFromTheClient(t *testing.T) {
	var answers []string // code of each answer, in order
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		code := answers[0]
		answers = answers[1:]
		status, body := 200, `{"code":"`+code+`","status":"Committed","echo":"`+key+`"}`
		if code == "" {
			status, body = 500, `{"error":{"code":"ServerError","message":"`+key+`"}}`
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	pub := &fakePublisher{}
	tr := NewTransport(base, WithPublisher(pub), WithCredentials(account, key))
	c := avatax.New("https://avatax.test", avatax.Credentials{AccountID: account, LicenseKey: key},
		avatax.WithHTTPClient(&http.Client{Transport: tr}),
		avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond}))
	ctx := WithOrder(context.Background(), "WEB-7", "EV-7")

	// The answers' codes differ from the requests' only to show where the
	// record's code comes from.
	answers = []string{"ANSWER-1", "ANSWER-2", "ANSWER-3", "", "ANSWER-4"}
	sale := avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: "WEB-7", Type: avatax.SalesInvoice, CompanyCode: "DEFAULT", Date: "2026-05-01", CustomerCode: key}}
	if _, err := c.CreateOrAdjust(ctx, sale); err != nil {
		t.Fatal(err)
	}
	sale.CreateTransactionModel.Code = "" // AvaTax picks the code: the answer's is recorded
	if _, err := c.CreateOrAdjust(ctx, sale); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Commit(ctx, "DEFAULT", "WEB-7", avatax.SalesInvoice); err != nil {
		t.Fatal(err)
	}
	// A failed refund, then the look-up of the ReturnInvoice it creates.
	_, err := c.Refund(ctx, "DEFAULT", "WEB-7", avatax.RefundTransactionModel{RefundTransactionCode: "WEB-7-R1", RefundDate: "2026-05-02"})
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, m := range pub.msgs {
		if bytes.Contains(m.Data, []byte(key)) || bytes.Contains(m.Data, []byte(base64.StdEncoding.EncodeToString([]byte(account+":"+key)))) {
			t.Errorf("record contains a secret: %s", m.Data)
		}
		var rec Record
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.Operation+" "+rec.DocumentCode)
	}
	want := []string{"createoradjust WEB-7", "createoradjust ANSWER-2", "commit WEB-7", "refund WEB-7-R1", "get WEB-7-R1"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("recorded %v, want %v", got, want)
	}
}

// encode writes what json.Marshal writes, bodies aside (spliced as they
// are, not compacted), whatever the other fields hold.
func TestEncodeDecodesAsMarshal(t *testing.T) {
	tr := NewTransport(nil, WithCredentials(account, key), WithMaxBody(64))
	tricky := `"request":{"response":{"body":1}} </script> ` + "\u2028\x00é"
	for i, rec := range []Record{
		{Operation: "get", Request: Request{Method: "GET", URL: "https://avatax.test/x?q=" + tricky}},
		{Operation: "createoradjust", DocumentCode: tricky, Error: tricky,
			Request:  Request{Method: "POST", URL: "https://avatax.test/", Headers: map[string][]string{"request": {tricky}, "Response": {"{"}}},
			Response: &Response{Status: 200, Headers: map[string][]string{"response": {`"response":{`}}}},
		{Operation: "void", Request: Request{Method: "POST"}, Response: &Response{Status: 500}},
	} {
		for _, bodies := range [][2]string{
			{`{"a": [1, 2.5e3, "x\"y", null, true]}`, "\n{ \"code\" : \"DOC-1\", \"t\": \"" + key + "\" }\n"},
			{"not json " + key, `{"long":"` + strings.Repeat("x", 100) + `"}`},
			{"", `[]`},
			{`"s"`, ""},
		} {
			rec.Request.Body, rec.Request.Truncated = tr.body([]byte(bodies[0]))
			if rec.Response != nil {
				rec.Response.Body, rec.Response.Truncated = tr.body([]byte(bodies[1]))
			}
			want, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encode(rec)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(got, []byte(key)) {
				t.Errorf("%d: secret recorded: %s", i, got)
			}
			var a, b Record
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("%d: %v: %s", i, err, got)
			}
			if err := json.Unmarshal(want, &b); err != nil {
				t.Fatal(err)
			}
			// json.Marshal compacts the bodies; encode keeps them as sent.
			a.Request.Body, b.Request.Body = compact(t, a.Request.Body), compact(t, b.Request.Body)
			if a.Response != nil {
				a.Response.Body, b.Response.Body = compact(t, a.Response.Body), compact(t, b.Response.Body)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%d: encode gives\n%s\njson.Marshal gives\n%s", i, got, want)
			}
		}
	}
}

func compact(t *testing.T, b json.RawMessage) json.RawMessage {
	t.Helper()
	if b == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return buf.Bytes()
}
