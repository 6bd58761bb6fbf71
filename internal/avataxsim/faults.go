package avataxsim

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// Faults configures fault injection. The zero value injects nothing.
// Random faults and the rate limit spare utilities/ping, which Avalara says
// always succeeds; per-request headers apply to every route.
type Faults struct {
	// RateLimit is the number of requests one account may make per
	// RateWindow (default 1s); further requests get 429 with AvaTax's
	// RequestLimitExceeded error and a Retry-After header. 0 = unlimited.
	RateLimit  int
	RateWindow time.Duration
	// TooManyRequestsRate is the share (0..1) of requests refused with 429
	// regardless of the quota: a rate-limit storm.
	TooManyRequestsRate float64
	// RetryAfter is the Retry-After sent with a 429 (whole seconds, rounded
	// up). 0 means the time left in the current quota window, or 1s for a
	// random 429; a negative value sends "Retry-After: 0" (fast tests).
	RetryAfter time.Duration
	// ErrorRate is the share (0..1) of requests answered with a server
	// error, half 500 InternalServerError and half 503 ServerUnreachable.
	ErrorRate float64
	// AfterEffectRate is the share (0..1) of those server errors sent after
	// the request took effect, as when Avalara fails while answering: the
	// document exists although the client saw an error.
	AfterEffectRate float64
	// Latency is added to every request, plus a uniform random 0..LatencyJitter.
	Latency       time.Duration
	LatencyJitter time.Duration
	// HangRate is the share (0..1) of requests that never answer: the
	// sandbox holds them until the client gives up (or HangMax, default
	// 2 minutes, then 504).
	HangRate float64
	HangMax  time.Duration
	// Seed makes the random choices reproducible (0: seeded from the clock).
	Seed uint64
}

// Per-request fault headers.
const (
	// HeaderFault forces a fault: "429", "500", "503", "500-after" (the
	// request takes effect, then 500), "503-after", "hang", "timeout" (as
	// $include=ForceTimeout).
	HeaderFault = "X-Sandbox-Fault"
	// HeaderLatency adds latency to this request (a Go duration such as
	// "250ms", or milliseconds).
	HeaderLatency = "X-Sandbox-Latency"
	// HeaderRetryAfter sets the Retry-After seconds of a forced 429.
	HeaderRetryAfter = "X-Sandbox-Retry-After"
)

type faultState struct {
	mu       sync.Mutex
	rnd      *rand.Rand
	windows  map[string]*rateWindow // per account
	injected map[string]int         // injected faults by kind
}

type rateWindow struct {
	start time.Time
	count int
}

func newFaultState(f Faults) *faultState {
	seed := f.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &faultState{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), windows: map[string]*rateWindow{}, injected: map[string]int{}}
}

func (fs *faultState) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.rnd.Float64() < p
}

func (fs *faultState) jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return time.Duration(fs.rnd.Int64N(int64(max) + 1))
}

func (fs *faultState) count(kind string) {
	fs.mu.Lock()
	fs.injected[kind]++
	fs.mu.Unlock()
}

// Faults returns how many faults were injected, by kind ("429", "500",
// "503", "500-after", "503-after", "hang", "timeout").
func (s *Sandbox) Faults() map[string]int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make(map[string]int, len(s.faults.injected))
	for k, v := range s.faults.injected {
		out[k] = v
	}
	return out
}

// SetFaults replaces the fault configuration at run time (for example to
// end a storm in the middle of a test).
func (s *Sandbox) SetFaults(f Faults) {
	s.faults.mu.Lock()
	s.opts.Faults = f
	s.faults.windows = map[string]*rateWindow{}
	s.faults.mu.Unlock()
}

func (s *Sandbox) faultConfig() Faults {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.opts.Faults
}

// faultDecision is what to do with a request before (or after) handling it.
type faultDecision struct {
	kind       string // "", "429", "500", "503", "hang", "timeout"
	after      bool   // a 5xx sent after the request took effect
	retryAfter time.Duration
}

// decideFault applies latency and picks a fault for a request. It reports
// false when the client went away while it waited.
func (s *Sandbox) decideFault(r *http.Request, rt route) (faultDecision, bool) {
	f := s.faultConfig()
	if delay := f.Latency + s.faults.jitter(f.LatencyJitter) + headerLatency(r); delay > 0 && !sleepCtx(r, delay) {
		return faultDecision{}, false
	}
	if d, ok := headerFault(r); ok {
		return d, true
	}
	if rt.anonymous {
		return faultDecision{}, true
	}
	if d, over := s.faults.overQuota(f, r); over {
		return d, true
	}
	return s.faults.randomFault(f), true
}

// headerLatency is the latency a request asks for in HeaderLatency.
func headerLatency(r *http.Request) time.Duration {
	v := strings.TrimSpace(r.Header.Get(HeaderLatency))
	if v == "" {
		return 0
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if ms, err := strconv.Atoi(v); err == nil {
		return time.Duration(ms) * time.Millisecond
	}
	return 0
}

// headerFault is the fault a request forces with HeaderFault, if any; an
// unknown value forces none and spares the request random faults too.
func headerFault(r *http.Request) (faultDecision, bool) {
	v := strings.ToLower(strings.TrimSpace(r.Header.Get(HeaderFault)))
	if v == "" {
		return faultDecision{}, false
	}
	d := faultDecision{}
	switch v {
	case "429", "500", "503", "hang", "timeout":
		d.kind = v
	case "500-after", "503-after":
		d.kind, d.after = v[:3], true
	default:
		return faultDecision{}, true
	}
	if d.kind == "429" {
		d.retryAfter = time.Second
		if ra, err := strconv.Atoi(r.Header.Get(HeaderRetryAfter)); err == nil && ra >= 0 {
			d.retryAfter = time.Duration(ra) * time.Second
		}
	}
	return d, true
}

// overQuota counts a request against its account's quota and returns the
// 429 when the quota of the current window is spent.
func (fs *faultState) overQuota(f Faults, r *http.Request) (faultDecision, bool) {
	if f.RateLimit <= 0 {
		return faultDecision{}, false
	}
	account := accountOf(r)
	window := f.RateWindow
	if window <= 0 {
		window = time.Second
	}
	now := time.Now()
	fs.mu.Lock()
	w := fs.windows[account]
	if w == nil || now.Sub(w.start) >= window {
		w = &rateWindow{start: now}
		fs.windows[account] = w
	}
	w.count++
	over := w.count > f.RateLimit
	left := window - now.Sub(w.start)
	fs.mu.Unlock()
	if !over {
		return faultDecision{}, false
	}
	ra := f.RetryAfter
	if ra == 0 {
		ra = left
	}
	return faultDecision{kind: "429", retryAfter: ra}, true
}

// randomFault draws the random faults of the configuration: a 429 storm,
// a hang, or a server error (after the request took effect, sometimes).
func (fs *faultState) randomFault(f Faults) faultDecision {
	if fs.chance(f.TooManyRequestsRate) {
		ra := f.RetryAfter
		if ra == 0 {
			ra = time.Second
		}
		return faultDecision{kind: "429", retryAfter: ra}
	}
	if fs.chance(f.HangRate) {
		return faultDecision{kind: "hang"}
	}
	if fs.chance(f.ErrorRate) {
		d := faultDecision{kind: "500"}
		if fs.chance(0.5) {
			d.kind = "503"
		}
		d.after = fs.chance(f.AfterEffectRate)
		return d
	}
	return faultDecision{}
}

func accountOf(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	return ""
}

// sleepCtx waits d, or until the client goes away (false).
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// injectBefore answers a fault that happens before the request takes
// effect. It reports whether it answered.
func (s *Sandbox) injectBefore(w http.ResponseWriter, r *http.Request, d faultDecision) bool {
	switch d.kind {
	case "":
		return false
	case "429":
		s.faults.count("429")
		secs := 0
		if d.retryAfter > 0 {
			secs = max(1, int(math.Ceil(d.retryAfter.Seconds())))
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, newErrorDetail(http.StatusTooManyRequests, "RequestLimitExceeded", "HttpRequest", avatax.ErrorDetail{
			Code: "RequestLimitExceeded", Message: "You have submitted too many requests.",
			Description: "Your account has exceeded its request quota. Wait for the time in Retry-After, then try again.",
		}))
		return true
	case "hang":
		s.faults.count("hang")
		max := s.faultConfig().HangMax
		if max <= 0 {
			max = 2 * time.Minute
		}
		if sleepCtx(r, max) {
			writeError(w, newError(http.StatusGatewayTimeout, "ServiceTimeout", "The service did not answer in time.",
				"The sandbox held this request as asked by its fault injection.", "AvaTaxApiServer"))
		}
		return true
	case "timeout":
		s.faults.count("timeout")
		delay := s.opts.ForceTimeoutDelay
		if delay == 0 {
			delay = 30 * time.Second
		}
		if delay > 0 && !sleepCtx(r, delay) {
			return true
		}
		writeError(w, errTimeoutRequested())
		return true
	}
	if d.after {
		return false
	}
	s.faults.count(d.kind)
	writeError(w, serverError(d.kind))
	return true
}

func serverError(kind string) *apiError {
	if kind == "503" {
		return newErrorDetail(http.StatusServiceUnavailable, "ServerUnreachable", "AvaTaxApiServer", avatax.ErrorDetail{
			Code: "ServerUnreachable", Message: "The server is currently unreachable.",
			Description: "The sandbox answered 503 as asked by its fault injection.", FaultCode: "Server", Severity: "Exception",
		})
	}
	return newErrorDetail(http.StatusInternalServerError, "InternalServerError", "AvaTaxApiServer", avatax.ErrorDetail{
		Code: "InternalServerError", Message: "An internal server error occurred.",
		Description: "The sandbox answered 500 as asked by its fault injection.", FaultCode: "Server", Severity: "Exception",
	})
}
