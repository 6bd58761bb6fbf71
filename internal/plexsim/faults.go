package plexsim

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Faults configures fault injection, as the AvaTax sandbox does. The zero
// value injects nothing.
type Faults struct {
	// ErrorRate is the share (0..1) of calls answered 500 or 503 (half each).
	ErrorRate float64
	// TooManyRequestsRate is the share (0..1) of calls refused with 429
	// regardless of the budget: a rate-limit storm.
	TooManyRequestsRate float64
	// RetryAfter is the Retry-After of an injected 429 (whole seconds,
	// rounded up; 0 sends 1s, negative sends 0 for fast tests).
	RetryAfter time.Duration
	// Latency is added to every call, plus a uniform random 0..LatencyJitter.
	Latency, LatencyJitter time.Duration
	// Seed makes the random choices reproducible (0: from the clock).
	Seed uint64
}

// Per-request fault headers.
const (
	// HeaderFault forces a fault on this request: "429", "500" or "503".
	HeaderFault = "X-Sandbox-Fault"
	// HeaderLatency adds latency to this request (a Go duration or milliseconds).
	HeaderLatency = "X-Sandbox-Latency"
	// HeaderRetryAfter sets the Retry-After seconds of a forced 429.
	HeaderRetryAfter = "X-Sandbox-Retry-After"
)

// SetFaults replaces the fault configuration at run time (e.g. to end a
// storm in the middle of a test).
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Sandbox) setFaultsLocked(f Faults) {
	seed := f.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s.faults = f
	s.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (s *Sandbox) latency(r *http.Request) time.Duration {
	s.mu.Lock()
	d := s.faults.Latency
	if j := s.faults.LatencyJitter; j > 0 {
		d += time.Duration(s.rnd.Int64N(int64(j) + 1))
	}
	s.mu.Unlock()
	if h := r.Header.Get(HeaderLatency); h != "" {
		if v, err := time.ParseDuration(h); err == nil {
			d += v
		} else if ms, err := strconv.Atoi(h); err == nil {
			d += time.Duration(ms) * time.Millisecond
		}
	}
	return d
}

// fault answers the request with an injected failure and reports whether it did.
func (s *Sandbox) fault(w http.ResponseWriter, r *http.Request) bool {
	kind := r.Header.Get(HeaderFault)
	s.mu.Lock()
	f := s.faults
	if kind == "" {
		switch x := s.rnd.Float64(); {
		case x < f.TooManyRequestsRate:
			kind = "429"
		case x < f.TooManyRequestsRate+f.ErrorRate/2:
			kind = "500"
		case x < f.TooManyRequestsRate+f.ErrorRate:
			kind = "503"
		}
	}
	if kind == "429" || kind == "500" || kind == "503" {
		s.stats.Injected[kind]++
	}
	s.mu.Unlock()
	switch kind {
	case "429":
		ra := "1"
		if h := r.Header.Get(HeaderRetryAfter); h != "" {
			ra = h
		} else if f.RetryAfter < 0 {
			ra = "0"
		} else if f.RetryAfter > 0 {
			ra = strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))
		}
		w.Header().Set("Retry-After", ra)
		writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "rate limit exceeded (injected)", nil)
	case "500":
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal server error (injected)", nil)
	case "503":
		writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "service unavailable (injected)", nil)
	default:
		return false
	}
	return true
}
