// Package plexsim is an in-memory Plex Connect sandbox: an http.Handler
// that serves the sales, customer, purchasing and supplier resources the
// plex client reads, records the tax written back (price adjustments on
// sales orders, tax amounts on purchase order line items), and
// behaves like Plex where a client must cope with it (API key header, 401
// and 404 bodies, ISO 8601 UTC dates, no pagination, a budget of calls per
// minute per key answered with 429 and Retry-After), plus fault injection
// for tests and demos.
package plexsim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/taxbridge/taxbridge/internal/plex"
)

// Defaults of New.
const (
	DefaultAPIKey = "sandbox-plex-api-key"
	DefaultBudget = plex.DefaultBudget
)

// settings are what the Options of New set on a Sandbox.
type settings struct {
	APIKey                           string
	TenantID                         string
	OAuthClientID, OAuthClientSecret string
	TokenTTL                         time.Duration
	Budget                           int
	BudgetWindow                     time.Duration
	Faults                           Faults
	Now                              func() time.Time
}

// Option configures a Sandbox.
type Option func(*settings)

// WithAPIKey sets the key the sandbox accepts (default DefaultAPIKey; an
// empty key keeps the default).
func WithAPIKey(key string) Option { return func(s *settings) { s.APIKey = key } }

// WithTenant makes tenantID the only tenant accepted in the tenant header;
// another tenant gets 403. An absent header is the default tenant. Empty
// (the default): any tenant.
func WithTenant(tenantID string) Option { return func(s *settings) { s.TenantID = tenantID } }

// WithOAuth makes the sandbox serve POST /oauth/token (client-credentials
// grant) for clientID and secret, and require its bearer token on every
// API call, besides the key. An empty clientID: no OAuth (the default).
func WithOAuth(clientID, secret string) Option {
	return func(s *settings) { s.OAuthClientID, s.OAuthClientSecret = clientID, secret }
}

// WithTokenTTL sets the lifetime of an issued OAuth token (default 1h).
func WithTokenTTL(d time.Duration) Option { return func(s *settings) { s.TokenTTL = d } }

// WithBudget sets the number of calls n one key may make per window
// (default DefaultBudget per minute, as Plex); past it the sandbox answers
// 429 with Retry-After. n = 0 keeps the default budget, a negative n means
// unlimited; a window <= 0 is a minute.
func WithBudget(n int, window time.Duration) Option {
	return func(s *settings) { s.Budget, s.BudgetWindow = n, window }
}

// WithFaults injects failures (default none); SetFaults changes them later.
func WithFaults(f Faults) Option { return func(s *settings) { s.Faults = f } }

// WithClock sets the clock, for dates on adjustments (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *settings) { s.Now = now } }

// Sandbox is the Plex Connect emulator. It is safe for concurrent use.
type Sandbox struct {
	opts settings
	mux  *http.ServeMux

	mu          sync.Mutex
	orders      map[string]plex.SalesOrder
	customers   map[string]plex.Customer
	addresses   map[string][]plex.CustomerAddress
	pos         map[string]plex.PurchaseOrder
	suppliers   map[string]plex.Supplier
	supAddrs    map[string][]plex.SupplierAddress          // by supplier id
	purDefaults map[string]plex.SupplierPurchasingDefaults // by supplier id
	adjustments map[string][]plex.PriceAdjustment          // by order id
	adjSeq      int
	tokens      map[string]time.Time // bearer token -> expiry
	windows     map[string]*window   // per key
	stats       Stats
	faults      Faults
	rnd         *rand.Rand
}

type window struct {
	start time.Time
	count int
}

// Stats counts what the sandbox answered.
type Stats struct {
	Requests    int            // every request that reached the handler
	RateLimited int            // 429 for a spent budget
	Injected    map[string]int // injected faults by kind ("429", "500", "503")
	// WritesChanged counts the writes (PUT or POST of a price adjustment,
	// PUT of a line item's tax) that changed something; WritesUnchanged
	// those that repeated what was there. Together they show whether a
	// write-back is idempotent.
	WritesChanged   int
	WritesUnchanged int
}

// Writes returns the number of accepted writes, changed or not.
func (st Stats) Writes() int { return st.WritesChanged + st.WritesUnchanged }

// New returns a sandbox with no data, configured by options.
func New(options ...Option) *Sandbox {
	var o settings
	for _, opt := range options {
		opt(&o)
	}
	if o.APIKey == "" {
		o.APIKey = DefaultAPIKey
	}
	if o.Budget == 0 {
		o.Budget = DefaultBudget
	}
	if o.BudgetWindow <= 0 {
		o.BudgetWindow = time.Minute
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Sandbox{
		opts: o, mux: http.NewServeMux(),
		orders: map[string]plex.SalesOrder{}, customers: map[string]plex.Customer{},
		addresses: map[string][]plex.CustomerAddress{}, pos: map[string]plex.PurchaseOrder{},
		suppliers: map[string]plex.Supplier{}, supAddrs: map[string][]plex.SupplierAddress{},
		purDefaults: map[string]plex.SupplierPurchasingDefaults{}, adjustments: map[string][]plex.PriceAdjustment{},
		tokens: map[string]time.Time{}, windows: map[string]*window{},
		stats: Stats{Injected: map[string]int{}},
	}
	s.setFaultsLocked(o.Faults)
	s.routes()
	return s
}

// Stats returns a copy of the counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Injected = make(map[string]int, len(s.stats.Injected))
	for k, v := range s.stats.Injected {
		st.Injected[k] = v
	}
	return st
}

// ServeHTTP applies latency, authentication, the budget and faults, then
// the route.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	if d := s.latency(r); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method == http.MethodPost && r.URL.Path == "/oauth/token" {
		s.token(w, r)
		return
	}
	// Plex checks the key before anything else; the body never repeats it.
	if r.Header.Get(plex.HeaderAPIKey) != s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "missing or invalid API key", nil)
		return
	}
	if t := r.Header.Get(plex.HeaderTenantID); t != "" && s.opts.TenantID != "" && t != s.opts.TenantID {
		writeError(w, http.StatusForbidden, "TENANT_FORBIDDEN", "the API key has no access to this tenant", nil)
		return
	}
	if s.opts.OAuthClientID != "" && !s.validBearer(r) {
		writeError(w, http.StatusUnauthorized, "INVALID_TOKEN", "missing, invalid or expired bearer token", nil)
		return
	}
	if s.overBudget(w) {
		return
	}
	if s.fault(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Sandbox) overBudget(w http.ResponseWriter) bool {
	if s.opts.Budget < 0 {
		return false
	}
	now := time.Now()
	s.mu.Lock()
	win := s.windows[s.opts.APIKey]
	if win == nil || now.Sub(win.start) >= s.opts.BudgetWindow {
		win = &window{start: now}
		s.windows[s.opts.APIKey] = win
	}
	win.count++
	over := win.count > s.opts.Budget
	left := win.start.Add(s.opts.BudgetWindow).Sub(now)
	if over {
		s.stats.RateLimited++
	}
	s.mu.Unlock()
	if !over {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(left.Seconds())))))
	writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", fmt.Sprintf("more than %d calls in %v", s.opts.Budget, s.opts.BudgetWindow), nil)
	return true
}

// writeError sends Plex's (assumed) error body.
func writeError(w http.ResponseWriter, status int, code, msg string, fields []plex.FieldError) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "errors": fields})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return h[7:]
	}
	return ""
}
