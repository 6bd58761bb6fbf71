// Package plex is a client of the Plex Connect REST API: sales orders,
// customers, purchase orders and suppliers, and the price adjustments that
// carry computed tax back onto a sales order.
//
// Every call takes a context, is held to a client-side budget of calls per
// minute (Plex answers 429 past 200), and is retried with exponential
// backoff and full jitter on 429 (honouring Retry-After) and on 5xx when
// repeating it is safe (GET, PUT). Credentials never appear in errors,
// logs or spans.
package plex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"

	"github.com/taxbridge/taxbridge/internal/retryafter"
)

// Base URLs of the Plex Connect tiers.
const (
	ProductionURL = "https://connect.plex.com"
	TestURL       = "https://test.connect.plex.com"
)

// Request headers Plex Connect reads.
const (
	HeaderAPIKey   = "X-Plex-Connect-Api-Key"
	HeaderTenantID = "X-Plex-Connect-Tenant-Id"
)

// DefaultBudget is Plex's allowance of calls per minute; past it Plex
// answers 429.
const DefaultBudget = 200

// DefaultTimeout bounds one HTTP exchange, so an outage does not hold a
// worker for minutes.
const DefaultTimeout = 15 * time.Second

// Credentials authenticate with Plex Connect: the API key is sent on every
// request, the tenant id when set, and an OAuth bearer token when OAuth is
// configured. Printing or logging them never shows a secret.
type Credentials struct {
	APIKey   string
	TenantID string
	OAuth    *OAuthConfig
}

// OAuthConfig configures the OAuth 2.0 client-credentials grant. The token
// is fetched on first use and fetched again when it expires.
type OAuthConfig struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
}

// String shows the tenant only, so Credentials are safe to log.
func (c Credentials) String() string { return "plex tenant " + c.TenantID }

// Format prints String for every verb, so no verb can print a secret.
func (c Credentials) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue keeps the secrets out of structured logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenant_id", c.TenantID), slog.Bool("oauth", c.OAuth != nil))
}

// MarshalJSON keeps the secrets out of JSON dumps.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"tenantId": c.TenantID, "oauth": c.OAuth != nil})
}

// String shows the client id only.
func (o OAuthConfig) String() string { return "oauth client " + o.ClientID }

// Format prints String for every verb, so no verb can print the secret.
func (o OAuthConfig) Format(f fmt.State, _ rune) { io.WriteString(f, o.String()) }

// secrets are held behind a pointer so a reflective dump of a Client shows
// an address, not a key.
type secrets struct {
	apiKey string
	values []string // every secret, to scrub from text that came back
}

// scrub removes any secret Plex (or a proxy) echoed in an answer.
func (s *secrets) scrub(text string) string {
	for _, v := range s.values {
		if len(v) >= 4 && strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, "[REDACTED]")
		}
	}
	return text
}

// RetryPolicy says how a call is repeated after a transient failure. The
// wait is drawn uniformly between 0 and a cap that starts at
// InitialBackoff and doubles up to MaxBackoff (full jitter), or is at least
// Retry-After when Plex sends one.
type RetryPolicy struct {
	MaxAttempts    int           // requests per call, the first included (default 5; 1 = no retry)
	InitialBackoff time.Duration // cap of the first wait (default 250ms)
	MaxBackoff     time.Duration // cap of any computed wait (default 10s)
	// MaxElapsed bounds a call, waits included (default 30s); a wait that
	// would pass it ends the call with the last error, whose RetryAfter
	// says when to come back.
	MaxElapsed time.Duration
}

// DefaultRetryPolicy is the policy used without WithRetry.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, InitialBackoff: 250 * time.Millisecond, MaxBackoff: 10 * time.Second, MaxElapsed: 30 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = d.InitialBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = max(d.MaxBackoff, p.InitialBackoff)
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	return p
}

func (p RetryPolicy) backoff(failures int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		// Jitter on top keeps clients told the same Retry-After from
		// coming back in one burst.
		return retryAfter + rand.N(p.InitialBackoff)
	}
	ceiling := p.InitialBackoff
	for i := 1; i < failures && ceiling < p.MaxBackoff; i++ {
		ceiling *= 2
	}
	return rand.N(min(ceiling, p.MaxBackoff) + 1)
}

// Client calls Plex Connect. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	tenant  string
	sec     *secrets
	tokens  *tokenCache // nil without OAuth
	http    *http.Client
	timeout time.Duration
	retry   RetryPolicy
	limiter *rate.Limiter // nil: no budget
	tracer  trace.Tracer
	log     *slog.Logger
}

type settings struct {
	httpClient *http.Client
	timeout    time.Duration
	retry      RetryPolicy
	budget     int
	window     time.Duration
	tp         trace.TracerProvider
	log        *slog.Logger
}

// Option configures a Client.
type Option func(*settings)

// WithHTTPClient replaces the HTTP client (also used to fetch OAuth tokens).
func WithHTTPClient(h *http.Client) Option { return func(s *settings) { s.httpClient = h } }

// WithTimeout sets the timeout of one HTTP exchange; <= 0 keeps DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithRetry sets the retry policy; zero fields keep their defaults.
func WithRetry(p RetryPolicy) Option { return func(s *settings) { s.retry = p } }

// WithBudget holds the client to n calls per window (default 200 per
// minute, Plex's allowance). Every request counts, retries included.
// n <= 0 removes the budget, for a Plex that allows more.
func WithBudget(n int, window time.Duration) Option {
	return func(s *settings) { s.budget, s.window = n, window }
}

// WithTracerProvider sets where spans go (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(s *settings) { s.tp = tp } }

// WithLogger receives a debug record per retry. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// New returns a client of the Plex Connect tier at baseURL (ProductionURL,
// TestURL or a sandbox). The API key is required.
func New(baseURL string, creds Credentials, opts ...Option) (*Client, error) {
	if creds.APIKey == "" {
		return nil, fmt.Errorf("plex: the API key is required")
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		// The URL is not echoed: a misconfigured one could carry a secret.
		return nil, fmt.Errorf("plex: base URL must be absolute (scheme and host)")
	}
	s := settings{timeout: DefaultTimeout, budget: DefaultBudget, window: time.Minute}
	for _, o := range opts {
		o(&s)
	}
	hc := s.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	if s.tp == nil {
		s.tp = otel.GetTracerProvider()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		base: u, tenant: creds.TenantID, http: hc, timeout: s.timeout, retry: s.retry.withDefaults(),
		sec:    &secrets{apiKey: creds.APIKey, values: []string{creds.APIKey}},
		tracer: s.tp.Tracer("github.com/taxbridge/taxbridge/internal/plex"), log: s.log,
	}
	if s.budget > 0 {
		if s.window <= 0 {
			s.window = time.Minute
		}
		// Plex counts calls in windows; a token bucket lets through at most
		// burst + rate*window calls in any window, so rate is what the
		// budget leaves after the burst: no window ever sees more than n.
		burst := max(1, s.budget/10)
		per := float64(s.budget-burst) / s.window.Seconds()
		if per <= 0 {
			per = float64(s.budget) / s.window.Seconds()
		}
		c.limiter = rate.NewLimiter(rate.Limit(per), burst)
	}
	if o := creds.OAuth; o != nil {
		if o.TokenURL == "" || o.ClientID == "" {
			return nil, fmt.Errorf("plex: OAuth needs a token URL and a client id")
		}
		c.sec.values = append(c.sec.values, o.ClientSecret)
		cc := clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL, Scopes: o.Scopes}
		c.tokens = &tokenCache{cfg: cc, hc: hc}
	}
	return c, nil
}

// call is one logical request.
type call struct {
	method, route, path string
	query               url.Values
	in, out             any
}

func (k call) idempotent() bool { return k.method == http.MethodGet || k.method == http.MethodPut }

// do sends a call, retrying where safe, inside one span.
func (c *Client) do(ctx context.Context, k call) error {
	ctx, span := c.tracer.Start(ctx, "plex "+k.method+" "+k.route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", k.method), attribute.String("url.template", k.route)))
	defer span.End()
	attempts, err := c.retryLoop(ctx, k)
	span.SetAttributes(attribute.Int("plex.attempts", attempts))
	if err != nil {
		if e, ok := asError(err); ok {
			span.SetAttributes(attribute.Int("http.response.status_code", e.Status), attribute.String("plex.error_code", e.Code))
		}
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

func (c *Client) retryLoop(ctx context.Context, k call) (int, error) {
	var body []byte
	if k.in != nil {
		b, err := json.Marshal(k.in)
		if err != nil {
			return 0, fmt.Errorf("plex: %s %s: encode request: %w", k.method, k.route, err)
		}
		body = b
	}
	deadline := time.Now().Add(c.retry.MaxElapsed)
	refreshed := false
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, k, body)
		if err == nil {
			return attempt, nil
		}
		e, isPlex := asError(err)
		retryable := ctx.Err() == nil && attempt < c.retry.MaxAttempts
		if isPlex && e.Status == http.StatusUnauthorized && c.tokens != nil && !refreshed && retryable {
			// The token may have been revoked before its expiry: fetch a
			// new one and try once more before calling the credentials wrong.
			refreshed = true
			c.tokens.invalidate()
			continue
		}
		switch {
		case isPlex && e.Status == http.StatusTooManyRequests:
			// A 429 means Plex did not act, so even a POST may be repeated.
		case isPlex && e.Temporary(), !isPlex && !notRepeatable(err):
			// A 5xx or a lost connection may have taken effect: repeat
			// only what is idempotent.
			retryable = retryable && k.idempotent()
		default:
			retryable = false
		}
		if !retryable {
			return attempt, err
		}
		var ra time.Duration
		if isPlex {
			ra = e.RetryAfter
		}
		wait := c.retry.backoff(attempt, ra)
		if time.Now().Add(wait).After(deadline) {
			return attempt, err
		}
		c.log.DebugContext(ctx, "plex retry", "method", k.method, "route", k.route, "attempt", attempt, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("plex: %s %s: %w (after %v)", k.method, k.route, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// errBudget marks a call whose turn in the budget would come after its
// context ends: repeating it cannot help.
var errBudget = errors.New("waiting for the call budget")

func notRepeatable(err error) bool { return errors.Is(err, ErrToken) || errors.Is(err, errBudget) }

// once sends one request and decodes its answer.
func (c *Client) once(ctx context.Context, k call, body []byte) error {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("plex: %s %s: %w: %w", k.method, k.route, errBudget, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + k.path
	u.RawQuery = k.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("plex: %s %s: %w", k.method, k.route, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(HeaderAPIKey, c.sec.apiKey)
	if c.tenant != "" {
		req.Header.Set(HeaderTenantID, c.tenant)
	}
	if c.tokens != nil {
		tok, err := c.tokens.get(ctx)
		if err != nil {
			// The token error is flattened to scrubbed text rather than
			// wrapped: its chain may hold the token endpoint's raw answer.
			return fmt.Errorf("%w: %s", ErrToken, c.sec.scrub(err.Error()))
		}
		tok.SetAuthHeader(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error quotes the URL, which holds no secret; scrub anyway in
		// case a proxy or base URL carried one.
		return fmt.Errorf("plex: %s %s: %s", k.method, k.route, c.sec.scrub(err.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("plex: %s %s: read answer: %w", k.method, k.route, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.decodeError(k, resp, data)
	}
	if k.out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, k.out); err != nil {
		return fmt.Errorf("plex: %s %s: decode answer: %w", k.method, k.route, err)
	}
	return nil
}

func (c *Client) decodeError(k call, resp *http.Response, data []byte) error {
	e := &Error{Status: resp.StatusCode, Method: k.method, Route: k.route}
	var wire struct {
		Code    string       `json:"code"`
		Message string       `json:"message"`
		Errors  []FieldError `json:"errors"`
	}
	if json.Unmarshal(data, &wire) == nil && (wire.Code != "" || wire.Message != "") {
		e.Code, e.Message, e.Fields = wire.Code, wire.Message, wire.Errors
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 512)]))
	}
	e.Code, e.Message = c.sec.scrub(e.Code), c.sec.scrub(e.Message)
	for i := range e.Fields {
		e.Fields[i].Message = c.sec.scrub(e.Fields[i].Message)
	}
	if ra, ok := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	return e
}

// tokenCache holds the OAuth access token: fetched with the context of the
// call that needs it, reused until it is about to expire, and dropped when
// Plex refuses it so the next call fetches a new one.
type tokenCache struct {
	cfg clientcredentials.Config
	hc  *http.Client
	mu  sync.Mutex
	tok *oauth2.Token
}

func (t *tokenCache) get(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Valid() { // Valid allows for a margin before expiry
		return t.tok, nil
	}
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.hc))
	if err != nil {
		return nil, err
	}
	t.tok = tok
	return tok, nil
}

func (t *tokenCache) invalidate() {
	t.mu.Lock()
	t.tok = nil
	t.mu.Unlock()
}
