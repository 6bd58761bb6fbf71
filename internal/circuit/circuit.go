// Package circuit is the worker's circuit breaker for AvaTax. While AvaTax
// refuses the credentials or keeps failing, taking events off the stream
// only spends their deliveries until they are dead-lettered; with the
// circuit open the worker stops fetching, probes AvaTax now and then, and
// resumes when a probe succeeds, so the backlog drains by itself.
//
// The breaker decides and keeps time; it does no I/O: the caller reports
// the outcome of each call and of each probe.
package circuit

import (
	"errors"
	"sync"
	"time"
)

// ErrOpen is the error of a call refused because the circuit is open.
var ErrOpen = errors.New("AvaTax is unavailable: the circuit is open, calls wait for a probe to succeed")

// Outcome is what a call to the dependency came to.
type Outcome int

// Outcomes of a call.
const (
	Success  Outcome = iota // it answered (an answer refusing the data counts)
	Failure                 // unavailable: 5xx, timeout, connection refused
	Rejected                // the credentials were refused: no retry will help
	Ignored                 // says nothing of its health (a rate limit, a refused call)
)

// settings are what the Options of New set on a Breaker.
type settings struct {
	failures           int
	minPause, maxPause time.Duration
	now                func() time.Time
}

// Option tunes a Breaker.
type Option func(*settings)

// WithFailures sets how many calls in a row must fail to open the circuit
// (default 5): one failure is a blip the client's retries already
// absorbed, several in a row an outage.
func WithFailures(n int) Option { return func(s *settings) { s.failures = n } }

// WithPauses bounds the wait before each probe: it starts at minPause
// (default 1s) and doubles after each failed probe, up to maxPause
// (default 30s, and never below minPause).
func WithPauses(minPause, maxPause time.Duration) Option {
	return func(s *settings) { s.minPause, s.maxPause = minPause, maxPause }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// Breaker is a circuit breaker. It is safe for concurrent use.
type Breaker struct {
	opts settings

	mu       sync.Mutex
	open     bool
	failures int    // calls failed in a row while closed
	reason   string // why it opened
	pause    time.Duration
	probeAt  time.Time // when the next probe is due
	changed  chan struct{}
}

// New returns a closed breaker.
func New(options ...Option) *Breaker {
	var opts settings
	for _, o := range options {
		o(&opts)
	}
	if opts.failures <= 0 {
		opts.failures = 5
	}
	if opts.minPause <= 0 {
		opts.minPause = time.Second
	}
	if opts.maxPause < opts.minPause {
		opts.maxPause = max(30*time.Second, opts.minPause)
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	return &Breaker{opts: opts, changed: make(chan struct{})}
}

// Allow returns ErrOpen while the circuit is open, nil otherwise.
func (b *Breaker) Allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		return ErrOpen
	}
	return nil
}

// Record reports the outcome of a call; reason says what failed. It
// reports whether the call opened the circuit.
func (b *Breaker) Record(o Outcome, reason string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		return false
	}
	switch o {
	case Success:
		b.failures = 0
		return false
	case Ignored:
		return false
	case Failure:
		b.failures++
		if b.failures < b.opts.failures {
			return false
		}
	}
	b.openLocked(reason)
	return true
}

// Trip opens the circuit at once, e.g. when a probe at start finds the
// credentials refused.
func (b *Breaker) Trip(reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		b.openLocked(reason)
	}
}

func (b *Breaker) openLocked(reason string) {
	b.open, b.reason, b.failures = true, reason, 0
	b.pause = b.opts.minPause
	b.probeAt = b.opts.now().Add(b.pause)
	b.signalLocked()
}

// Probed reports the outcome of a probe made while open: a success closes
// the circuit, a failure doubles the wait before the next one.
func (b *Breaker) Probed(ok bool, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return
	}
	if ok {
		b.open, b.reason = false, ""
		b.signalLocked()
		return
	}
	b.reason = reason
	b.pause = min(2*b.pause, b.opts.maxPause)
	b.probeAt = b.opts.now().Add(b.pause)
}

func (b *Breaker) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// State is a snapshot of the breaker.
type State struct {
	Open   bool
	Reason string    // why it is open
	Probe  time.Time // when the next probe is due, while open
}

// State returns the breaker's state and a channel closed at its next
// change (opening or closing).
func (b *Breaker) State() (State, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return State{Open: b.open, Reason: b.reason, Probe: b.probeAt}, b.changed
}
