package avatax

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
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
type Credentials struct {
	AccountID  string
	LicenseKey string
}

// String never shows the license key, so credentials are safe to log.
func (c Credentials) String() string { return "account " + c.AccountID }

// Client calls AvaTax REST v2. It is safe for concurrent use.
type Client struct {
	baseURL    string
	creds      Credentials
	httpClient *http.Client
	clientHdr  string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (e.g. to add otelhttp or a test
// transport). Its Timeout is kept if set.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.httpClient = h } }

// WithTimeout sets the timeout of one HTTP exchange.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.httpClient.Timeout = d }
}

// WithClientHeader sets the app name and version sent in X-Avalara-Client.
func WithClientHeader(app, version string) Option {
	return func(c *Client) { c.clientHdr = clientHeader(app, version) }
}

func clientHeader(app, version string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s; %s; GoClient; %s; %s", app, version, LibraryVersion, host)
}

// LibraryVersion is the client's version in X-Avalara-Client.
const LibraryVersion = "1.0.0"

// New returns a client for the AvaTax service at baseURL.
func New(baseURL string, creds Credentials, opts ...Option) *Client {
	c := &Client{
		baseURL:    strings.TrimRight(baseURL, "/"),
		creds:      creds,
		httpClient: &http.Client{Timeout: DefaultTimeout},
		clientHdr:  clientHeader("taxbridge", "dev"),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Ping checks connectivity and reports whether the credentials are accepted.
func (c *Client) Ping(ctx context.Context) (*PingResultModel, error) {
	var out PingResultModel
	return &out, c.do(ctx, "ping", http.MethodGet, "/api/v2/utilities/ping", nil, &out)
}

// CreateOrAdjust creates the document, or adjusts it when one with the same
// code exists; repeating it is safe.
func (c *Client) CreateOrAdjust(ctx context.Context, m CreateOrAdjustTransactionModel) (*TransactionModel, error) {
	var out TransactionModel
	return &out, c.do(ctx, "createoradjust", http.MethodPost, "/api/v2/transactions/createoradjust", m, &out)
}

// Create creates a document. Prefer CreateOrAdjust where a call may repeat.
func (c *Client) Create(ctx context.Context, m CreateTransactionModel) (*TransactionModel, error) {
	var out TransactionModel
	return &out, c.do(ctx, "create", http.MethodPost, "/api/v2/transactions/create", m, &out)
}

// Get fetches the current version of a document by company, code and type.
func (c *Client) Get(ctx context.Context, companyCode, code, docType string) (*TransactionModel, error) {
	var out TransactionModel
	p := docPath(companyCode, code, "") + typeQuery(docType, "Lines")
	return &out, c.do(ctx, "get", http.MethodGet, p, nil, &out)
}

// Commit commits an uncommitted document.
func (c *Client) Commit(ctx context.Context, companyCode, code, docType string) (*TransactionModel, error) {
	var out TransactionModel
	p := docPath(companyCode, code, "/commit") + typeQuery(docType, "")
	return &out, c.do(ctx, "commit", http.MethodPost, p, CommitTransactionModel{Commit: true}, &out)
}

// Void cancels a document with the given reason (VoidDocVoided, VoidDocDeleted).
func (c *Client) Void(ctx context.Context, companyCode, code, docType, reason string) (*TransactionModel, error) {
	var out TransactionModel
	p := docPath(companyCode, code, "/void") + typeQuery(docType, "")
	return &out, c.do(ctx, "void", http.MethodPost, p, VoidTransactionModel{Code: reason}, &out)
}

// Refund creates a committed ReturnInvoice for a committed SalesInvoice.
// It is not idempotent: look the refund code up before sending it again.
func (c *Client) Refund(ctx context.Context, companyCode, code string, m RefundTransactionModel) (*TransactionModel, error) {
	var out TransactionModel
	p := docPath(companyCode, code, "/refund") + typeQuery(SalesInvoice, "")
	return &out, c.do(ctx, "refund", http.MethodPost, p, m, &out)
}

// ResolveAddress validates and normalises an address. Problems with the
// address come back as messages in a successful answer.
func (c *Client) ResolveAddress(ctx context.Context, a AddressValidationInfo) (*AddressResolutionModel, error) {
	var out AddressResolutionModel
	return &out, c.do(ctx, "resolve", http.MethodPost, "/api/v2/addresses/resolve", a, &out)
}

// codeEscaper applies AvaTax's documented encoding for codes in URL paths.
var codeEscaper = strings.NewReplacer("/", "_-ava2f-_", "+", "_-ava2b-_", "?", "_-ava3f-_", "%", "_-ava25-_", "#", "_-ava23-_")

func docPath(companyCode, code, suffix string) string {
	return "/api/v2/companies/" + url.PathEscape(codeEscaper.Replace(companyCode)) +
		"/transactions/" + url.PathEscape(codeEscaper.Replace(code)) + suffix
}

func typeQuery(docType, include string) string {
	q := url.Values{}
	if docType != "" {
		q.Set("documentType", docType)
	}
	if include != "" {
		q.Set("$include", include)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (c *Client) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Op: op, Err: fmt.Errorf("encode request: %w", err)}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return &Error{Op: op, Err: fmt.Errorf("build request: %w", err)}
	}
	req.SetBasicAuth(c.creds.AccountID, c.creds.LicenseKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Avalara-Client", c.clientHdr)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// url.Error repeats the URL, which carries no secret; credentials
		// travel only in the Authorization header.
		return &Error{Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return &Error{Op: op, StatusCode: resp.StatusCode, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode >= 300 {
		return decodeError(op, resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Op: op, StatusCode: resp.StatusCode, Code: "UnexpectedAnswer",
			Message: fmt.Sprintf("cannot decode the %d answer: %v", resp.StatusCode, err)}
	}
	return nil
}

func decodeError(op string, resp *http.Response, raw []byte) *Error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	var env ErrorResult
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e.Code, e.Message, e.Target, e.Details = env.Error.Code, env.Error.Message, env.Error.Target, env.Error.Details
		return e
	}
	// Route misses and gateways answer with empty or non-JSON bodies.
	e.Message = strings.TrimSpace(string(raw))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200]
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
