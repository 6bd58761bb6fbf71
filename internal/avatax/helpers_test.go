package avatax_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

const (
	testAccount = "2000123456"
	testKey     = "LK-9f8e7d6c5b4a39281706"
)

var testCreds = avatax.Credentials{AccountID: testAccount, LicenseKey: testKey}

// fastRetry keeps tests quick: waits of a few milliseconds.
var fastRetry = avatax.RetryPolicy{MaxAttempts: 4, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxElapsed: 5 * time.Second}

// fake is a scripted AvaTax: handle answers each request; it counts the
// requests per "METHOD /path" and checks the credentials.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	handle func(w http.ResponseWriter, r *http.Request, n int) // n: 1-based count for this route
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fake {
	t.Helper()
	f := &fake{t: t, hits: map[string]int{}, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != testAccount || p != testKey {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, errBody("AuthenticationException", "Authentication failed."))
		return
	}
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.hits[key]++
	n := f.hits[key]
	f.mu.Unlock()
	f.handle(w, r, n)
}

func (f *fake) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[key]
}

func (f *fake) client(opts ...avatax.Option) *avatax.Client {
	return avatax.New(f.srv.URL, testCreds, append([]avatax.Option{avatax.WithRetry(fastRetry)}, opts...)...)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Write(b)
}

func errBody(code, msg string) avatax.ErrorResult {
	return avatax.ErrorResult{Error: &avatax.ErrorInfo{Code: code, Message: msg, Target: "HttpRequest",
		Details: []avatax.ErrorDetail{{Code: code, Message: msg, Description: msg + " (details)", Severity: "Error",
			HelpLink: "http://developer.avalara.com/avatax/errors/" + code}}}}
}

// fail answers with AvaTax's error envelope.
func fail(w http.ResponseWriter, status int, code string, header ...string) {
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Correlation-Id", "corr-"+code)
	w.WriteHeader(status)
	writeJSON(w, errBody(code, fmt.Sprintf("%s happened.", code)))
}

func doc(code, docType, status string) avatax.TransactionModel {
	return avatax.TransactionModel{ID: 1, Code: code, Type: docType, Status: status, Version: 1}
}

func ok(w http.ResponseWriter, m any) {
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, m)
}

// hang blocks until the client gives up on the request. It reads the body
// first: the server notices a closed connection only after that.
func hang(r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

func saleModel(code string) avatax.CreateOrAdjustTransactionModel {
	return avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: code, Type: avatax.SalesInvoice, CompanyCode: "DEFAULT", Date: "2026-05-01", CustomerCode: "C1"}}
}

func containsSecret(s string) bool {
	return strings.Contains(s, testKey) || strings.Contains(s, basicToken())
}
