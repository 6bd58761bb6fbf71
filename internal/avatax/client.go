package avatax

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/taxbridge/taxbridge/internal/fastjson"
)

// Base URLs of Avalara's environments.
const (
	SandboxURL    = "https://sandbox-rest.avatax.com"
	ProductionURL = "https://rest.avatax.com"
)

// DefaultTimeout bounds one HTTP exchange. AvaTax SDKs default to 20
// minutes, which turns an outage into stuck workers.
const DefaultTimeout = 10 * time.Second

// Credentials authenticate with HTTP Basic: account id and license key.
//
// Printing or logging Credentials (fmt with any verb, slog, encoding/json)
// shows the account id only, never the license key.
type Credentials struct {
	AccountID  string
	LicenseKey string
}

// String never shows the license key, so credentials are safe to log.
func (c Credentials) String() string { return "account " + c.AccountID }

// GoString is String for %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("avatax.Credentials{AccountID: %q, LicenseKey: %q}", c.AccountID, redacted(c.LicenseKey))
}

// Format prints String for every verb (GoString for %#v), so no verb can
// print the license key.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	io.WriteString(f, c.String())
}

// LogValue keeps the license key out of structured logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account_id", c.AccountID), slog.String("license_key", redacted(c.LicenseKey)))
}

// MarshalJSON keeps the license key out of JSON dumps.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"accountId": c.AccountID, "licenseKey": redacted(c.LicenseKey)})
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// secret holds the Authorization header value behind a pointer, so even a
// reflective dump of a Client shows an address, not the key.
type secret struct{ header, token, key string }

// scrub removes the license key and the Basic token from text AvaTax (or
// a proxy in front of it) sent back, in case an answer echoes them.
func (s *secret) scrub(text string) string {
	for _, v := range []string{s.token, s.key} {
		if len(v) >= 4 && strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, "[REDACTED]")
		}
	}
	return text
}

// Client calls AvaTax REST v2. It is safe for concurrent use.
//
// Every call is bounded by a per-attempt timeout (WithTimeout) and by the
// caller's context; transient failures are retried according to the
// RetryPolicy (WithRetry) where repeating the call is safe; a client-side
// rate limit (WithRateLimit) and concurrency cap (WithMaxConcurrency) apply
// to every request, retries and look-ups included.
//
// Calls that answer with a document (CreateOrAdjust, Create, Get, Commit,
// Void, Refund) ask for its header and lines only: the lines' tax details
// by jurisdiction, the summary and the addresses do not come back.
type Client struct {
	baseURL   string
	accountID string
	auth      *secret
	clientHdr string

	httpClient *http.Client // transport wrapped with otelhttp
	timeout    time.Duration
	retry      RetryPolicy
	limiter    *rate.Limiter // nil: no limit
	sem        chan struct{} // nil: no cap
	log        *slog.Logger
	include    string // $include of calls answered with a document

	tracer  trace.Tracer
	retries metric.Int64Counter
}

type settings struct {
	httpClient *http.Client
	timeout    time.Duration
	clientHdr  string
	retry      RetryPolicy
	rps        float64
	burst      int
	maxConc    int
	tp         trace.TracerProvider
	mp         metric.MeterProvider
	log        *slog.Logger
	include    string
}

// Option configures a Client.
type Option func(*settings)

// WithDetails makes every call answered with a document ask for its lines'
// per-jurisdiction details too (state, county, city, special), for callers
// that report tax by jurisdiction; the default asks for the lines only.
func WithDetails() Option { return func(s *settings) { s.include = "Details" } }

// WithHTTPClient replaces the HTTP client (e.g. to add a test transport).
// Its Timeout, when set, is the per-attempt timeout unless WithTimeout is
// also given. The client works on a copy whose transport is wrapped with
// otelhttp, so do not wrap it yourself.
func WithHTTPClient(h *http.Client) Option { return func(s *settings) { s.httpClient = h } }

// WithTimeout sets the timeout of one HTTP exchange (one attempt; a call
// that is retried may take longer, up to RetryPolicy.MaxElapsed). Zero or
// negative keeps DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithClientHeader sets the app name and version sent in X-Avalara-Client.
func WithClientHeader(app, version string) Option {
	return func(s *settings) { s.clientHdr = clientHeader(app, version) }
}

// WithRetry sets the retry policy; zero fields keep their defaults (see
// DefaultRetryPolicy). MaxAttempts 1 disables retries.
func WithRetry(p RetryPolicy) Option { return func(s *settings) { s.retry = p } }

// WithMaxAttempts caps the requests one call may send (1 = no retries),
// keeping the other retry settings.
func WithMaxAttempts(n int) Option { return func(s *settings) { s.retry.MaxAttempts = n } }

// WithRateLimit limits the client to rps requests per second on average,
// with bursts of up to burst requests. Every request counts: first
// attempts, retries and the look-ups made before repeating a call. A call
// waits for its turn, or fails when its context ends first. rps <= 0
// removes the limit (the default).
func WithRateLimit(rps float64, burst int) Option {
	return func(s *settings) { s.rps, s.burst = rps, burst }
}

// WithMaxConcurrency caps the requests in flight at once across all
// goroutines using the client; further calls wait for a slot, or fail when
// their context ends first. n <= 0 removes the cap (the default).
func WithMaxConcurrency(n int) Option { return func(s *settings) { s.maxConc = n } }

// WithTracerProvider sets where spans go (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(s *settings) { s.tp = tp } }

// WithMeterProvider sets where metrics go (default: the global provider).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(s *settings) { s.mp = mp } }

// WithLogger receives a debug record for every retry (operation, document
// code, attempt, status, AvaTax code, delay). Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

func clientHeader(app, version string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s; %s; GoClient; %s; %s", app, version, LibraryVersion, host)
}

// LibraryVersion is the client's version in X-Avalara-Client.
const LibraryVersion = "1.1.0"

// instrumentation is the OpenTelemetry scope name of the client.
const instrumentation = "github.com/taxbridge/taxbridge/internal/avatax"

// New returns a client for the AvaTax service at baseURL. User information
// in baseURL is dropped: credentials travel only in the Authorization
// header, never in URLs, errors or spans.
func New(baseURL string, creds Credentials, opts ...Option) *Client {
	s := settings{clientHdr: clientHeader("taxbridge", "dev")}
	for _, o := range opts {
		o(&s)
	}
	c := &Client{
		baseURL:   cleanBaseURL(baseURL),
		accountID: creds.AccountID,
		auth:      newSecret(creds),
		clientHdr: s.clientHdr,
		retry:     s.retry.withDefaults(),
		log:       s.log,
		include:   cmp.Or(s.include, answerInclude),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if s.tp == nil {
		s.tp = otel.GetTracerProvider()
	}
	if s.mp == nil {
		s.mp = otel.GetMeterProvider()
	}
	c.tracer = s.tp.Tracer(instrumentation, trace.WithInstrumentationVersion(LibraryVersion))
	var err error
	c.retries, err = s.mp.Meter(instrumentation, metric.WithInstrumentationVersion(LibraryVersion)).Int64Counter(
		"avatax.client.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("AvaTax requests repeated after a transient failure"))
	if err != nil || c.retries == nil {
		c.retries = noop.Int64Counter{}
	}

	var base http.Client
	if s.httpClient != nil {
		base = *s.httpClient
	}
	c.timeout = s.timeout
	if c.timeout == 0 {
		c.timeout = base.Timeout
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	base.Timeout = 0 // enforced per attempt through the context
	base.Transport = newTransport(base.Transport, s.maxConc, s.tp, s.mp)
	c.httpClient = &base

	if s.rps > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(s.rps), max(s.burst, 1))
	}
	if s.maxConc > 0 {
		c.sem = make(chan struct{}, s.maxConc)
	}
	return c
}

func newSecret(creds Credentials) *secret {
	token := base64.StdEncoding.EncodeToString([]byte(creds.AccountID + ":" + creds.LicenseKey))
	return &secret{header: "Basic " + token, token: token, key: creds.LicenseKey}
}

func cleanBaseURL(raw string) string {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return raw
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("avatax.Client{url: %s, account: %s}", c.baseURL, c.accountID)
}

// Format prints String for every verb, so no verb can print the license key.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue keeps the license key out of structured logs.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.baseURL), slog.String("account_id", c.accountID))
}

// Ping checks connectivity and reports whether the credentials are accepted.
func (c *Client) Ping(ctx context.Context) (*PingResultModel, error) {
	var out PingResultModel
	return &out, c.run(ctx, &call{op: "ping", method: http.MethodGet, path: "/api/v2/utilities/ping",
		route: "/api/v2/utilities/ping", out: &out, safety: repeatable})
}

// CreateOrAdjust creates the document, or adjusts it when one with the same
// code exists. Repeating it is safe, so it is retried on any transient
// failure.
func (c *Client) CreateOrAdjust(ctx context.Context, m CreateOrAdjustTransactionModel) (*TransactionModel, error) {
	var out TransactionModel
	t := &m.CreateTransactionModel
	return &out, c.run(ctx, &call{op: "createoradjust", method: http.MethodPost,
		path: "/api/v2/transactions/createoradjust" + c.docQuery(""), route: "/api/v2/transactions/createoradjust",
		in: m, out: &out, safety: repeatable, doc: docAttrs{company: t.CompanyCode, code: t.Code, docType: t.Type}})
}

// Create creates a document. It is repeated only when AvaTax cannot have
// acted on it (the connection was refused before the request was sent, or
// AvaTax answered 429); after any other failure the error has Uncertain
// set. Prefer CreateOrAdjust where a call may repeat.
func (c *Client) Create(ctx context.Context, m CreateTransactionModel) (*TransactionModel, error) {
	var out TransactionModel
	return &out, c.run(ctx, &call{op: "create", method: http.MethodPost,
		path: "/api/v2/transactions/create" + c.docQuery(""), route: "/api/v2/transactions/create",
		in: m, out: &out, safety: unsentOnly, doc: docAttrs{company: m.CompanyCode, code: m.Code, docType: m.Type}})
}

// Get fetches the current version of a document by
// company, code and type. An empty docType lets AvaTax pick SalesInvoice
// when several types share the code.
func (c *Client) Get(ctx context.Context, companyCode, code, docType string) (*TransactionModel, error) {
	var out TransactionModel
	return &out, c.run(ctx, &call{op: "get", method: http.MethodGet,
		path: docPath(companyCode, code, "") + c.docQuery(docType), route: docRoute(""),
		out: &out, safety: repeatable, doc: docAttrs{company: companyCode, code: code, docType: docType}})
}

// Commit commits an uncommitted document. When an attempt fails after the
// request may have reached AvaTax (a 5xx, a timeout, a dropped
// connection), the client looks the document up before repeating it and
// returns it if it is already Committed.
func (c *Client) Commit(ctx context.Context, companyCode, code, docType string) (*TransactionModel, error) {
	var out TransactionModel
	k := &call{op: "commit", method: http.MethodPost,
		path: docPath(companyCode, code, "/commit") + c.docQuery(docType), route: docRoute("/commit"),
		in: CommitTransactionModel{Commit: true}, body: commitBody, out: &out, safety: checkFirst,
		doc: docAttrs{company: companyCode, code: code, docType: docType}}
	k.check = func(ctx context.Context) (bool, *Error) {
		doc, err := c.lookUp(ctx, k, companyCode, code, docType)
		if err != nil {
			return false, ignoreNotFound(err)
		}
		if doc.Status != StatusCommitted {
			return false, nil
		}
		out = *doc
		return true, nil
	}
	return &out, c.run(ctx, k)
}

// Void cancels a document with the given reason (VoidDocVoided,
// VoidDocDeleted). When an attempt fails after the request may have
// reached AvaTax, the client looks the document up before repeating it:
// a Cancelled document (or, for VoidDocDeleted, a deleted one) means the
// void took effect, and it is returned instead of repeating the call.
func (c *Client) Void(ctx context.Context, companyCode, code, docType, reason string) (*TransactionModel, error) {
	var out TransactionModel
	k := &call{op: "void", method: http.MethodPost,
		path: docPath(companyCode, code, "/void") + c.docQuery(docType), route: docRoute("/void"),
		in: VoidTransactionModel{Code: reason}, body: voidBodies[reason], out: &out, safety: checkFirst,
		doc: docAttrs{company: companyCode, code: code, docType: docType}}
	k.check = func(ctx context.Context) (bool, *Error) {
		doc, err := c.lookUp(ctx, k, companyCode, code, docType)
		switch {
		case err != nil && err.Kind() == KindNotFound && strings.EqualFold(reason, VoidDocDeleted):
			// DocDeleted removes an uncommitted document outright.
			out = TransactionModel{Code: code, Type: docType, Status: StatusCancelled}
			return true, nil
		case err != nil:
			return false, ignoreNotFound(err)
		case doc.Status != StatusCancelled:
			return false, nil
		}
		out = *doc
		return true, nil
	}
	return &out, c.run(ctx, k)
}

// The bodies of commit and of the usual voids, encoded once.
var (
	commitBody = mustEncode(CommitTransactionModel{Commit: true})
	voidBodies = map[string][]byte{
		VoidDocVoided:  mustEncode(VoidTransactionModel{Code: VoidDocVoided}),
		VoidDocDeleted: mustEncode(VoidTransactionModel{Code: VoidDocDeleted}),
	}
)

func mustEncode(v any) []byte {
	b, err := fastjson.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Refund creates a committed ReturnInvoice for a committed SalesInvoice.
// When an attempt fails after the request may have reached AvaTax, the
// client looks the refund up by its RefundTransactionCode (a
// ReturnInvoice) before sending it again, and returns it if it exists.
// Without a RefundTransactionCode there is nothing to look up: the refund
// is then repeated only when AvaTax cannot have acted on it, like Create.
func (c *Client) Refund(ctx context.Context, companyCode, code string, m RefundTransactionModel) (*TransactionModel, error) {
	var out TransactionModel
	k := &call{op: "refund", method: http.MethodPost,
		path: docPath(companyCode, code, "/refund") + c.docQuery(SalesInvoice), route: docRoute("/refund"),
		in: m, out: &out, safety: unsentOnly,
		doc: docAttrs{company: companyCode, code: code, docType: SalesInvoice, refundCode: m.RefundTransactionCode}}
	if rc := m.RefundTransactionCode; rc != "" {
		k.safety = checkFirst
		k.check = func(ctx context.Context) (bool, *Error) {
			doc, err := c.lookUp(ctx, k, companyCode, rc, ReturnInvoice)
			if err != nil {
				return false, ignoreNotFound(err)
			}
			out = *doc
			return true, nil
		}
	}
	return &out, c.run(ctx, k)
}

// ResolveAddress validates and normalises an address. Problems with the
// address come back as messages in a successful answer.
func (c *Client) ResolveAddress(ctx context.Context, a AddressValidationInfo) (*AddressResolutionModel, error) {
	var out AddressResolutionModel
	return &out, c.run(ctx, &call{op: "resolve", method: http.MethodPost,
		path: "/api/v2/addresses/resolve", route: "/api/v2/addresses/resolve", in: a, out: &out, safety: repeatable})
}

// lookUp is the single GET a check makes; it goes through the rate limit,
// the concurrency cap and tracing like any request.
func (c *Client) lookUp(ctx context.Context, k *call, companyCode, code, docType string) (*TransactionModel, *Error) {
	var doc TransactionModel
	g := &call{op: k.op + " check", method: http.MethodGet,
		path: docPath(companyCode, code, "") + c.docQuery(docType), route: docRoute(""), out: &doc,
		doc: docAttrs{company: companyCode, code: code, docType: docType}}
	if f := c.send(inContext(ctx), g, nil); f != nil {
		return nil, f.err
	}
	return &doc, nil
}

func ignoreNotFound(err *Error) *Error {
	if err.Kind() == KindNotFound {
		return nil
	}
	return err
}

// codeEscaper applies AvaTax's documented encoding for codes in URL paths.
var codeEscaper = strings.NewReplacer("/", "_-ava2f-_", "+", "_-ava2b-_", "?", "_-ava3f-_", "%", "_-ava25-_", "#", "_-ava23-_")

func docPath(companyCode, code, suffix string) string {
	return "/api/v2/companies/" + url.PathEscape(codeEscaper.Replace(companyCode)) +
		"/transactions/" + url.PathEscape(codeEscaper.Replace(code)) + suffix
}

func docRoute(suffix string) string {
	return "/api/v2/companies/{companyCode}/transactions/{transactionCode}" + suffix
}

// answerInclude is the $include of every call that answers with a
// document: its lines, without their per-jurisdiction details, the
// summary or the addresses. taxbridge reads only the header (code, type,
// status, totals) and each line's number, amounts and tax (see
// taxdoc.Summarize), while create, createoradjust and refund answer by
// default with Summary,Addresses, several times larger: encoding and
// decoding that costs CPU on both sides for nothing. WithDetails asks for
// the details where they are needed.
const answerInclude = "Lines"

// docQuery is the query of a call answered with a document: the client's
// $include (answerInclude unless WithDetails) and, when given, the
// document type (encoded as url.Values would).
func (c *Client) docQuery(docType string) string {
	q := "?%24include=" + c.include
	if docType != "" {
		q += "&documentType=" + url.QueryEscape(docType)
	}
	return q
}

// docAttrs names the document a call is about, for spans and logs.
type docAttrs struct {
	company, code, docType, refundCode string
}

func (d docAttrs) attributes(op string) []attribute.KeyValue {
	kv := []attribute.KeyValue{attribute.String("avatax.operation", op)}
	if d.company != "" {
		kv = append(kv, attribute.String("avatax.company_code", d.company))
	}
	if d.code != "" {
		kv = append(kv, attribute.String("avatax.document_code", d.code))
	}
	if d.docType != "" {
		kv = append(kv, attribute.String("avatax.document_type", d.docType))
	}
	if d.refundCode != "" {
		kv = append(kv, attribute.String("avatax.refund_code", d.refundCode))
	}
	return kv
}
