package avataxsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// env is a sandbox behind a real HTTP server.
type env struct {
	t   *testing.T
	sb  *Sandbox
	srv *httptest.Server
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	sb := New(opts...)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{t: t, sb: sb, srv: srv}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) tx(t *testing.T) avatax.TransactionModel {
	t.Helper()
	var tm avatax.TransactionModel
	if err := json.Unmarshal(r.body, &tm); err != nil {
		t.Fatalf("decode transaction: %v\n%s", err, r.body)
	}
	return tm
}

func (r reply) err(t *testing.T) *avatax.ErrorInfo {
	t.Helper()
	var er avatax.ErrorResult
	if err := json.Unmarshal(r.body, &er); err != nil || er.Error == nil {
		t.Fatalf("not an error envelope (status %d): %v\n%s", r.status, err, r.body)
	}
	return er.Error
}

// call sends a request with the default credentials. body may be a string
// (sent as is), nil, or a value marshalled as JSON.
func (e *env) call(method, path string, body any) reply {
	e.t.Helper()
	return e.callAuth(method, path, body, DefaultAccountID, DefaultLicenseKey)
}

func (e *env) callAuth(method, path string, body any, user, pass string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// invoice builds a create request body for one $100 line shipped from
// Seattle to the given postal code.
func invoice(code, docType string, commit bool, toPostal string, amounts ...string) map[string]any {
	if len(amounts) == 0 {
		amounts = []string{"100"}
	}
	var lines []map[string]any
	for i, a := range amounts {
		lines = append(lines, map[string]any{"number": string(rune('1' + i)), "amount": a, "quantity": 1, "taxCode": "P0000000"})
	}
	return map[string]any{
		"type": docType, "code": code, "companyCode": "DEFAULT", "date": "2024-03-01", "customerCode": "CUST1",
		"commit": commit,
		"addresses": map[string]any{
			"shipFrom": map[string]any{"line1": "1 Main St", "city": "Seattle", "region": "WA", "country": "US", "postalCode": "98101"},
			"shipTo":   map[string]any{"line1": "2 Park Ave", "region": "", "country": "US", "postalCode": toPostal},
		},
		"lines": lines,
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func wantDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := jsonUnmarshal(b, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fetchResult is a page of documents as list answers it.
type fetchResult = avatax.FetchResult[avatax.TransactionModel]
