// Package audit records every AvaTax exchange taxbridge makes: an
// http.RoundTripper below the AvaTax client's own transport appends one
// record per request (method, URL, headers without credentials, body) and
// its response (status, headers, body) or failure, with the round-trip
// time, the order, the event and the trace it belongs to, to the
// JetStream stream bus.AuditStream under tax.audit.<order>. The same
// transport counts the calls by endpoint and status and measures their
// latency.
//
// The order and event come from the request's context (WithOrder), which
// the worker sets for the event it processes; the document code comes from
// the AvaTax client (avatax.DocumentCode), or else from the bodies.
package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bufpool"
	"github.com/taxbridge/taxbridge/internal/bus"
)

// Record is one AvaTax exchange: a request and its response or failure.
type Record struct {
	Time         time.Time `json:"time"` // when the request was sent
	OrderID      string    `json:"order_id,omitempty"`
	EventID      string    `json:"event_id,omitempty"`
	TraceID      string    `json:"trace_id,omitempty"`
	SpanID       string    `json:"span_id,omitempty"`
	Operation    string    `json:"operation"` // createoradjust, get, commit, void, refund, …
	DocumentCode string    `json:"document_code,omitempty"`
	Request      Request   `json:"request"`
	Response     *Response `json:"response,omitempty"`
	// Error is why no response came (timeout, connection refused, …).
	Error string `json:"error,omitempty"`
	// AvaTaxErrorCode is error.code of an AvaTax error answer.
	AvaTaxErrorCode string `json:"avatax_error_code,omitempty"`
	// RoundTripMS is the time from sending the request to reading the
	// whole response, in milliseconds.
	RoundTripMS float64 `json:"round_trip_ms"`
}

// Request is the request as sent, credentials removed.
type Request struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    json.RawMessage     `json:"body,omitempty"`
	// Truncated says Body holds only the start of a larger body (as a
	// JSON string).
	Truncated bool `json:"truncated,omitempty"`
}

// Response is the answer as received.
type Response struct {
	Status    int                 `json:"status"`
	Headers   map[string][]string `json:"headers,omitempty"`
	Body      json.RawMessage     `json:"body,omitempty"`
	Truncated bool                `json:"truncated,omitempty"`
}

type orderKey struct{}

type orderRef struct{ orderID, eventID string }

// WithOrder returns a context whose AvaTax exchanges are recorded for the
// order, as made for the event.
func WithOrder(ctx context.Context, orderID, eventID string) context.Context {
	return context.WithValue(ctx, orderKey{}, orderRef{orderID, eventID})
}

// OrderFrom returns the order and event set by WithOrder.
func OrderFrom(ctx context.Context) (orderID, eventID string) {
	r, _ := ctx.Value(orderKey{}).(orderRef)
	return r.orderID, r.eventID
}

// Unattributed is the subject token of exchanges made outside any order
// (a look-up by an operator tool, say). bus.Token never produces it.
const Unattributed = "_none"

// Subject is where the exchanges of an order go.
func Subject(orderID string) string {
	if orderID == "" {
		return bus.AuditPrefix + Unattributed
	}
	return bus.AuditSubject(orderID)
}

// Publisher appends records; jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// settings are what the Options of NewTransport set on a Transport.
type settings struct {
	Publisher             Publisher
	AccountID, LicenseKey string
	MeterProvider         metric.MeterProvider
	Logger                *slog.Logger
	MaxBody               int
	PublishTimeout        time.Duration
}

// Option configures a Transport.
type Option func(*settings)

// WithPublisher sets where the records are appended; without it nothing
// is recorded (metrics only).
func WithPublisher(p Publisher) Option { return func(s *settings) { s.Publisher = p } }

// WithCredentials names the AvaTax credentials: the license key and the
// Basic token are removed from anything recorded, should an answer echo
// them. The Authorization header is never recorded.
func WithCredentials(accountID, licenseKey string) Option {
	return func(s *settings) { s.AccountID, s.LicenseKey = accountID, licenseKey }
}

// WithMeterProvider sets what receives the call metrics (default: the
// global one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(s *settings) { s.MeterProvider = mp }
}

// WithLogger sets what reports records that could not be appended
// (default: none).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.Logger = l } }

// WithMaxBody caps each recorded body (default 256 KiB); a longer one is
// kept as the start of its text with Truncated set.
func WithMaxBody(n int) Option { return func(s *settings) { s.MaxBody = n } }

// WithPublishTimeout bounds the append of one record (default 5s).
func WithPublishTimeout(d time.Duration) Option {
	return func(s *settings) { s.PublishTimeout = d }
}

// Transport records the exchanges it carries. Put it below the AvaTax
// client's otelhttp transport so that records carry the HTTP span.
type Transport struct {
	base         http.RoundTripper
	o            settings
	secrets      []string // scrubbed from text
	secretsBytes [][]byte // the same, scrubbed from bodies

	calls    metric.Int64Counter
	duration metric.Float64Histogram
	failures metric.Int64Counter
	attrs    sync.Map // [2]string{endpoint, status} → metric.MeasurementOption
}

// instrumentation is the OpenTelemetry scope of the audit metrics.
const instrumentation = "github.com/taxbridge/taxbridge/internal/audit"

// NewTransport wraps base (nil: http.DefaultTransport).
func NewTransport(base http.RoundTripper, opts ...Option) *Transport {
	var o settings
	for _, opt := range opts {
		opt(&o)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 256 << 10
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	t := &Transport{base: base, o: o}
	if o.LicenseKey != "" {
		for _, v := range []string{base64.StdEncoding.EncodeToString([]byte(o.AccountID + ":" + o.LicenseKey)), o.LicenseKey} {
			// A shorter key would redact innocent text; none is that short.
			if len(v) >= 4 {
				t.secrets, t.secretsBytes = append(t.secrets, v), append(t.secretsBytes, []byte(v))
			}
		}
	}
	m := o.MeterProvider.Meter(instrumentation)
	t.calls, _ = m.Int64Counter("taxbridge.avatax.calls", metric.WithUnit("{call}"),
		metric.WithDescription("AvaTax HTTP requests, by endpoint and status (the HTTP status, or error when none came)"))
	t.duration, _ = m.Float64Histogram("taxbridge.avatax.duration", metric.WithUnit("s"),
		metric.WithDescription("round-trip time of AvaTax HTTP requests, response body included"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	t.failures, _ = m.Int64Counter("taxbridge.audit.failures", metric.WithUnit("{record}"),
		metric.WithDescription("audit records that could not be appended to the audit stream"))
	return t
}

// maxAnswer bounds what is buffered of an answer (as the client does).
const maxAnswer = 32 << 20

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op := Operation(req.Method, req.URL.Path)
	reqBody, reqBuf := t.requestBody(req)
	if reqBuf != nil {
		// The record holds a copy of the body (encode), not the buffer.
		defer bufpool.Put(reqBuf)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	var respBody []byte
	if err == nil {
		var rerr error
		respBody, resp.Body, rerr = replay(resp)
		if rerr != nil {
			err = rerr // for the record only: the client sees it when reading
		}
	}
	elapsed := time.Since(start)

	status := "error"
	if resp != nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	attrs := t.callAttributes(op, status)
	t.calls.Add(ctx, 1, attrs)
	t.duration.Record(ctx, elapsed.Seconds(), attrs)

	orderID, eventID := OrderFrom(ctx)
	if t.o.Publisher == nil || (op == "ping" && orderID == "") {
		// Connectivity checks (readiness) carry no tax data.
		return resp, retErr(resp, err)
	}
	rec := Record{Time: start.UTC(), OrderID: orderID, EventID: eventID, Operation: op,
		RoundTripMS: float64(elapsed.Microseconds()) / 1000}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		rec.TraceID, rec.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
	u := *req.URL
	u.User = nil
	rec.Request = Request{Method: req.Method, URL: t.scrub(u.String()), Headers: t.headers(req.Header)}
	rec.Request.Body, rec.Request.Truncated = t.body(reqBody)
	if resp != nil {
		rec.Response = &Response{Status: resp.StatusCode, Headers: t.headers(resp.Header)}
		rec.Response.Body, rec.Response.Truncated = t.body(respBody)
		if resp.StatusCode >= 300 {
			rec.AvaTaxErrorCode = errorCode(respBody)
		}
	}
	if err != nil {
		rec.Error = t.scrub(err.Error())
	}
	if code, ok := avatax.DocumentCode(ctx); ok {
		rec.DocumentCode = code
	} else {
		rec.DocumentCode = documentCode(req, reqBody, resp, respBody)
	}
	t.append(ctx, rec)
	return resp, retErr(resp, err)
}

// callAttributes is metric.WithAttributes(endpoint op, status status),
// made once for each pair: few pairs occur, and making the set costs more
// than recording the measurements.
func (t *Transport) callAttributes(op, status string) metric.MeasurementOption {
	key := [2]string{op, status}
	if o, ok := t.attrs.Load(key); ok {
		return o.(metric.MeasurementOption)
	}
	o := metric.WithAttributeSet(attribute.NewSet(attribute.String("endpoint", op), attribute.String("status", status)))
	t.attrs.Store(key, o)
	return o
}

// retErr is the error RoundTrip returns: a body read error is left for
// the client to meet when it reads the body.
func retErr(resp *http.Response, err error) error {
	if resp != nil {
		return nil
	}
	return err
}

// append publishes the record; a failure is logged and counted but does
// not fail the exchange, which has already happened.
func (t *Transport) append(ctx context.Context, rec Record) {
	data, err := encode(rec)
	if err == nil {
		msg := nats.NewMsg(Subject(rec.OrderID))
		msg.Data = data
		msg.Header.Set("Content-Type", "application/json")
		if rec.EventID != "" {
			msg.Header.Set("Taxbridge-Event-Id", rec.EventID)
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.o.PublishTimeout)
		_, err = t.o.Publisher.PublishMsg(pctx, msg)
		cancel()
	}
	if err != nil {
		t.failures.Add(ctx, 1)
		t.o.Logger.WarnContext(ctx, "AvaTax exchange not recorded in the audit trail", "order", rec.OrderID,
			"event", rec.EventID, "operation", rec.Operation, "err", err)
	}
}

// requestBody returns a copy of the request body, leaving the request's
// own body unread. The copy is in buf, when not nil, a pooled buffer to
// give back once the record is encoded.
func (t *Transport) requestBody(req *http.Request) (b []byte, buf *bytes.Buffer) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			limit := int64(t.o.MaxBody) + 1
			buf = bufpool.Get(min(req.ContentLength, limit))
			_, _ = buf.ReadFrom(io.LimitReader(rc, limit))
			rc.Close()
			return buf.Bytes(), buf
		}
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
	}
	return b, nil
}

// dropped headers never reach a record.
var dropped = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

func (t *Transport) headers(h http.Header) map[string][]string {
	var out map[string][]string // nil when nothing is kept
	for k, vs := range h {
		if len(vs) == 0 || dropped[http.CanonicalHeaderKey(k)] {
			continue
		}
		if out == nil {
			out = make(map[string][]string, len(h))
		}
		kept := make([]string, len(vs))
		for i, v := range vs {
			kept[i] = t.scrub(v)
		}
		out[k] = kept
	}
	return out
}

// encode is json.Marshal(rec), but with the bodies, which body has
// checked to be JSON, spliced in as they are: json.Marshal would validate
// and compact each again, which costs more than the rest of the record.
func encode(rec Record) ([]byte, error) {
	reqBody := rec.Request.Body
	rec.Request.Body = nil
	var respBody json.RawMessage
	if rec.Response != nil {
		r := *rec.Response
		respBody, r.Body = r.Body, nil
		rec.Response = &r
	}
	head, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	out := make([]byte, 0, len(head)+len(reqBody)+len(respBody)+2*len(`"body":,`))
	// The keys are found by their first occurrence: the values before
	// them are strings, numbers or header maps, in which a quote is
	// escaped, so no value can hold `"request":{` or `"response":{`.
	if out, head, err = spliceBody(out, head, `"request":{`, reqBody); err != nil {
		return nil, err
	}
	if out, head, err = spliceBody(out, head, `"response":{`, respBody); err != nil {
		return nil, err
	}
	return append(out, head...), nil
}

// spliceBody copies head to out up to and including key, which opens an
// object that has other members, then body as its first member. It
// returns the rest of head.
func spliceBody(out, head []byte, key string, body json.RawMessage) (newOut, rest []byte, err error) {
	if len(body) == 0 {
		return out, head, nil
	}
	i := bytes.Index(head, []byte(key))
	if i < 0 {
		return nil, nil, fmt.Errorf("encode audit record: no %s", key)
	}
	i += len(key)
	out = append(out, head[:i]...)
	out = append(out, `"body":`...)
	out = append(out, body...)
	return append(out, ','), head[i:], nil
}

// body is b as JSON when it is JSON, else as a JSON string, cut at MaxBody.
func (t *Transport) body(b []byte) (json.RawMessage, bool) {
	if len(b) == 0 {
		return nil, false
	}
	b = t.scrubBytes(b)
	if len(b) <= t.o.MaxBody && jsonv1.Valid(b) {
		return b, false
	}
	truncated := false
	if len(b) > t.o.MaxBody {
		b, truncated = b[:t.o.MaxBody], true
	}
	q, _ := json.Marshal(string(b))
	return q, truncated
}

// scrub removes the secrets from s.
func (t *Transport) scrub(s string) string {
	for _, v := range t.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redactedText)
		}
	}
	return s
}

// scrubBytes removes the secrets from b, which it copies only when one
// occurs: b is also the body the client reads.
func (t *Transport) scrubBytes(b []byte) []byte {
	for _, v := range t.secretsBytes {
		if bytes.Contains(b, v) {
			b = bytes.ReplaceAll(b, v, []byte(redactedText))
		}
	}
	return b
}

const redactedText = "[REDACTED]"

// Operation names the AvaTax endpoint of a request: createoradjust,
// create, get, commit, void, refund, adjust, resolve, ping, or other.
func Operation(method, path string) string {
	p := strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(p, "/utilities/ping"):
		return "ping"
	case strings.HasSuffix(p, "/transactions/createoradjust"):
		return "createoradjust"
	case strings.HasSuffix(p, "/transactions/create"):
		return "create"
	case strings.HasSuffix(p, "/addresses/resolve"):
		return "resolve"
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	// api v2 companies {company} transactions {code} [action]
	if len(parts) >= 6 && parts[2] == "companies" && parts[4] == "transactions" {
		if len(parts) == 6 {
			if method == http.MethodGet {
				return "get"
			}
			return "other"
		}
		switch a := strings.ToLower(parts[6]); a {
		case "commit", "void", "refund", "adjust", "settle", "verify", "uncommit", "audit", "changecode", "lock":
			return a
		}
	}
	return "other"
}

// codeUnescaper reverses AvaTax's encoding of codes in URL paths.
var codeUnescaper = strings.NewReplacer("_-ava2f-_", "/", "_-ava2b-_", "+", "_-ava3f-_", "?", "_-ava25-_", "%", "_-ava23-_", "#")

// documentCode is the code of the document the exchange is about, for
// requests not made by the AvaTax client (see avatax.DocumentCode): the
// answer's code, else the code in the path, else the request's.
func documentCode(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	if resp != nil && resp.StatusCode < 300 {
		var d struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(respBody, &d) == nil && d.Code != "" {
			return d.Code
		}
	}
	parts := strings.Split(strings.TrimPrefix(req.URL.EscapedPath(), "/"), "/")
	if len(parts) >= 6 && parts[2] == "companies" && parts[4] == "transactions" {
		if c, err := url.PathUnescape(parts[5]); err == nil {
			return codeUnescaper.Replace(c)
		}
	}
	var b struct {
		Code   string `json:"code"`
		Create struct {
			Code string `json:"code"`
		} `json:"createTransactionModel"`
	}
	if json.Unmarshal(reqBody, &b) == nil {
		if b.Create.Code != "" {
			return b.Create.Code
		}
		return b.Code
	}
	return ""
}

func errorCode(body []byte) string {
	var e struct {
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		return e.Error.Code
	}
	return ""
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// replay reads the answer (up to maxAnswer) into a pooled buffer and
// returns it with the body the client reads in its place: the buffered
// bytes, then whatever the original body still holds or the error that
// ended the read. The buffer goes back to the pool when that body is
// closed; the returned bytes are valid until then.
func replay(resp *http.Response) (data []byte, body io.ReadCloser, err error) {
	buf := bufpool.Get(resp.ContentLength)
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	rb := &replayBody{buf: buf, body: resp.Body, rest: resp.Body}
	if err != nil {
		rb.rest = errReader{err}
	}
	rb.r.Reset(buf.Bytes())
	return buf.Bytes(), rb, err
}

// replayBody is an answer already read into buf, followed by rest.
type replayBody struct {
	mu   sync.Mutex
	buf  *bytes.Buffer // nil once closed
	r    bytes.Reader  // over buf
	rest io.Reader
	body io.ReadCloser // the original body
}

func (b *replayBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return b.body.Read(p) // closed: as the original body answers
	}
	if b.r.Len() > 0 {
		return b.r.Read(p)
	}
	return b.rest.Read(p)
}

func (b *replayBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf != nil {
		b.r.Reset(nil)
		bufpool.Put(b.buf)
		b.buf = nil
	}
	return b.body.Close()
}

// String describes a record in one line, for logs and taxctl.
func (r Record) String() string {
	status := "no answer"
	if r.Response != nil {
		status = strconv.Itoa(r.Response.Status)
	}
	s := fmt.Sprintf("%s %s %s %s %s %.1fms", r.Time.Format(time.RFC3339Nano), r.Operation, r.Request.Method, r.Request.URL, status, r.RoundTripMS)
	if r.AvaTaxErrorCode != "" {
		s += " " + r.AvaTaxErrorCode
	}
	return s
}
