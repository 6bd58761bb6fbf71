// Package health serves taxbridge's operational HTTP endpoints: /healthz
// (the process is up), /readyz (its dependencies are usable) and /metrics
// (Prometheus).
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one readiness condition.
type Check struct {
	Name string
	// Run returns nil when the dependency is usable.
	Run func(ctx context.Context) error
	// CacheOK and CacheFail keep a result for a while, so that frequent
	// probes do not hammer a remote service (zero: run every time).
	CacheOK, CacheFail time.Duration
}

// Handler serves /healthz, /readyz and, when metrics is not nil, /metrics.
type Handler struct {
	mux *http.ServeMux
	// checks is replaced whole by SetChecks while probes read it.
	checks  atomic.Pointer[[]*cached]
	timeout time.Duration
}

type cached struct {
	Check
	mu    sync.Mutex
	until time.Time
	err   error
}

// New returns the handler. Each check gets at most timeout (default 5s).
func New(checks []Check, metrics http.Handler, timeout time.Duration) *Handler {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	h := &Handler{mux: http.NewServeMux(), timeout: timeout}
	h.SetChecks(checks)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	h.mux.HandleFunc("GET /readyz", h.ready)
	if metrics != nil {
		h.mux.Handle("GET /metrics", metrics)
	}
	return h
}

// SetChecks replaces the readiness conditions, with no cached results: a
// process serves /readyz while it starts, with the checks it can run then,
// and sets the full list once its dependencies exist.
func (h *Handler) SetChecks(checks []Check) {
	cs := make([]*cached, 0, len(checks))
	for _, c := range checks {
		cs = append(cs, &cached{Check: c})
	}
	h.checks.Store(&cs)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Ready runs the checks (or reuses their cached results) and returns the
// failures by check name.
func (h *Handler) Ready(ctx context.Context) map[string]error {
	out := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range *h.checks.Load() {
		wg.Go(func() {
			err := c.run(ctx, h.timeout)
			mu.Lock()
			out[c.Name] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func (c *cached) run(ctx context.Context, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.until) {
		return c.err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.err = c.Run(cctx)
	keep := c.CacheOK
	if c.err != nil {
		keep = c.CacheFail
	}
	c.until = time.Now().Add(keep)
	return c.err
}

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	results := h.Ready(r.Context())
	checks := map[string]string{}
	status, code := "ready", http.StatusOK
	for name, err := range results {
		if err != nil {
			checks[name] = err.Error()
			status, code = "not ready", http.StatusServiceUnavailable
		} else {
			checks[name] = "ok"
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
