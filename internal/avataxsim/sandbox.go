// Package avataxsim is a local emulator of Avalara AvaTax REST v2: the same
// paths, JSON, status codes, error envelope and document lifecycle, with a
// rule-based tax engine. Every US ZIP code and Canadian postal code is taxed:
// a few dozen places in full jurisdiction detail, the others at their
// state's rate plus its average local rate, or their province's GST/HST and
// PST/QST (data/*.csv). It serves
// /api/v2/... as an http.Handler, in-process from tests or as the
// cmd/avatax-sandbox server.
package avataxsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// The documented default credentials of the sandbox.
const (
	DefaultAccountID  = "1100000001"
	DefaultLicenseKey = "sandbox-license-key"
	DefaultCompany    = "DEFAULT"
)

// settings are what the Options of New set on a Sandbox.
type settings struct {
	AccountID  string           // default DefaultAccountID
	LicenseKey string           // default DefaultLicenseKey
	Strict     bool             // only Companies exist; others get Avalara's 404
	Companies  []string         // configured company codes (default ["DEFAULT"])
	Now        func() time.Time // default time.Now

	// Faults configures fault injection (429, 5xx, latency, hangs).
	Faults Faults

	// ForceTimeoutDelay is how long $include=ForceTimeout waits before it
	// fails with TimeoutRequested (default 30s, as on Avalara; negative
	// means no wait).
	ForceTimeoutDelay time.Duration
}

// Option configures a Sandbox.
type Option func(*settings)

// WithCredentials sets the account id and license key the sandbox accepts
// (an empty one keeps DefaultAccountID or DefaultLicenseKey).
func WithCredentials(accountID, licenseKey string) Option {
	return func(s *settings) { s.AccountID, s.LicenseKey = accountID, licenseKey }
}

// WithCompanies sets the configured company codes (none: ["DEFAULT"]).
func WithCompanies(codes ...string) Option {
	return func(s *settings) { s.Companies = codes }
}

// WithStrict makes only the configured companies exist when strict is
// true: others get Avalara's 404. Otherwise any company code is accepted.
func WithStrict(strict bool) Option { return func(s *settings) { s.Strict = strict } }

// WithClock sets the sandbox's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *settings) { s.Now = now } }

// WithFaults configures fault injection (429, 5xx, latency, hangs); it can
// be changed later with SetFaults.
func WithFaults(f Faults) Option { return func(s *settings) { s.Faults = f } }

// WithForceTimeoutDelay sets how long $include=ForceTimeout waits before it
// fails with TimeoutRequested (default 30s, as on Avalara; negative means
// no wait).
func WithForceTimeoutDelay(d time.Duration) Option {
	return func(s *settings) { s.ForceTimeoutDelay = d }
}

// Sandbox is an in-memory AvaTax. It is safe for concurrent use.
type Sandbox struct {
	opts settings

	mu        sync.Mutex
	docs      map[docKey]*docRecord
	companies map[string]int64 // upper-cased code → id
	nextID    int64
	calls     map[string]int
	faults    *faultState
}

// New returns a sandbox with no documents.
func New(options ...Option) *Sandbox {
	var opts settings
	for _, o := range options {
		o(&opts)
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.LicenseKey == "" {
		opts.LicenseKey = DefaultLicenseKey
	}
	if len(opts.Companies) == 0 {
		opts.Companies = []string{DefaultCompany}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sandbox{
		opts:      opts,
		docs:      map[docKey]*docRecord{},
		companies: map[string]int64{},
		nextID:    80000000001,
		calls:     map[string]int{},
		faults:    newFaultState(opts.Faults),
	}
	for _, c := range opts.Companies {
		s.companyID(c)
	}
	return s
}

func (s *Sandbox) now() time.Time { return s.opts.Now() }

// Calls returns the number of requests received per operation name ("ping",
// "create", "createoradjust", "get", "list", "commit", "uncommit", "void",
// "adjust", "refund", "resolve", ...).
func (s *Sandbox) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Document returns the current version of a stored document. An empty
// docType picks SalesInvoice when several types share the code.
func (s *Sandbox) Document(companyCode, code, docType string) (avatax.TransactionModel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.find(companyCode, code, docType)
	if rec == nil {
		return avatax.TransactionModel{}, false
	}
	return rec.current(), true
}

// Documents returns every current (non-Adjusted) stored document of a
// company, sorted by code then type.
func (s *Sandbox) Documents(companyCode string) []avatax.TransactionModel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []avatax.TransactionModel
	for k, rec := range s.docs {
		if k.company == strings.ToUpper(companyCode) {
			out = append(out, rec.current())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Code != out[j].Code {
			return out[i].Code < out[j].Code
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// ServeHTTP serves the AvaTax REST v2 API under /api/v2/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	corr := r.Header.Get("X-Correlation-Id")
	if corr == "" {
		corr = newUUID()
	}
	w.Header().Set("x-correlation-id", corr)

	rt, params, ok := match(r.Method, r.URL.EscapedPath())
	if !ok {
		// Avalara answers a route miss with an empty, non-JSON 404.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.mu.Lock()
	s.calls[rt.op]++
	s.mu.Unlock()

	if !rt.anonymous {
		if apiErr := s.authenticate(r); apiErr != nil {
			writeError(w, apiErr)
			return
		}
	}
	fault, alive := s.decideFault(r, rt)
	if !alive {
		return // the client went away while we waited
	}
	if s.injectBefore(w, r, fault) {
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			writeError(w, errJSONFormat("could not read the request body"))
			return
		}
		body = b
	}
	req := &request{r: r, params: params, body: body, query: lowerQuery(r.URL.Query())}
	status, out, apiErr := rt.handle(s, req)
	if fault.after {
		// The request took effect; the answer is lost in a server error.
		s.faults.count(fault.kind + "-after")
		writeError(w, serverError(fault.kind))
		return
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, status, out)
}

// companyExists reports whether a company code is known. Outside strict
// mode every company exists.
func (s *Sandbox) companyExists(code string) bool {
	if !s.opts.Strict {
		return true
	}
	for _, c := range s.opts.Companies {
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}

// companyID returns a stable id for a company code; callers hold s.mu or
// are in New.
func (s *Sandbox) companyID(code string) int64 {
	k := strings.ToUpper(code)
	if id, ok := s.companies[k]; ok {
		return id
	}
	id := int64(900001 + len(s.companies))
	s.companies[k] = id
	return id
}

// jsonBuffers holds the buffers answers are encoded into. A document
// answer is tens of kilobytes; json.Marshal would allocate a fresh copy of
// it for every call.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer bounds the buffers kept for reuse, so that one large
// list answer does not stay in memory.
const maxPooledBuffer = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	var err error
	if tm, ok := v.(*avatax.TransactionModel); ok {
		var b []byte
		b, err = appendDocument(buf.AvailableBuffer(), tm)
		buf.Write(b)
	} else {
		// An Encoder writes what json.Marshal returns, plus a newline.
		err = json.NewEncoder(buf).Encode(v)
	}
	if err != nil {
		writeError(w, newError(http.StatusInternalServerError, "InternalServerError", "An internal error occurred.", err.Error(), "AvaTaxApiServer"))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func writeError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(e.Body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
