package avatax

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/internal/retryafter"
)

// RetryPolicy says how a call is repeated after a transient failure (429,
// 5xx, 408, a timeout, a connection error). Which calls may be repeated,
// and when, depends on the operation; see the methods of Client.
//
// The wait before a repeat is drawn uniformly between 0 and a cap that
// starts at InitialBackoff and doubles after each failure up to MaxBackoff
// ("full jitter"). When AvaTax sends Retry-After (seconds or an HTTP date)
// the client waits at least that long (plus up to InitialBackoff of jitter).
type RetryPolicy struct {
	// MaxAttempts caps the requests one call sends, the first included
	// (default 5; 1 disables retries). Look-ups made to check whether an
	// attempt took effect are capped separately by the same number.
	MaxAttempts int
	// InitialBackoff is the cap of the first wait (default 200ms).
	InitialBackoff time.Duration
	// MaxBackoff caps any wait computed by backoff (default 5s).
	MaxBackoff time.Duration
	// MaxElapsed bounds the whole call, waits and look-ups included
	// (default 20s). A wait that would end after it, for instance a long
	// Retry-After, ends the call at once with the last error, whose
	// RetryAfter tells the caller when to come back. Keep it below the
	// lease the caller holds on the work (e.g. the JetStream AckWait).
	MaxElapsed time.Duration
}

// DefaultRetryPolicy returns the policy used when WithRetry is not given:
// 5 attempts, waits capped at 200ms doubling to 5s, 20s per call.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxElapsed: 20 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = d.InitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = max(d.MaxBackoff, p.InitialBackoff)
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = p.InitialBackoff
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	return p
}

// backoff is the full-jitter wait before the next request after failures
// failed requests, at least retryAfter when AvaTax asked for one.
func (p RetryPolicy) backoff(failures int, retryAfter string) time.Duration {
	if ra, ok := retryafter.Parse(retryAfter, time.Now()); ok {
		return ra + rand.N(p.InitialBackoff)
	}
	ceiling := p.InitialBackoff
	for i := 1; i < failures && ceiling < p.MaxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.MaxBackoff)
	return rand.N(ceiling + 1)
}

// CallInfo reports how a call went, for logs and tests. Pass one with
// WithCallInfo; the client fills it in before the call returns.
type CallInfo struct {
	Attempts  int           // requests sent for the operation
	Checks    int           // look-ups made to learn whether an attempt had taken effect
	Recovered bool          // the result came from a look-up after an attempt whose answer was lost
	Elapsed   time.Duration // time spent in the call, waits included
}

type callInfoKey struct{}

// WithCallInfo returns a context that makes the client record how the call
// made with it went into info. Use one info per call.
func WithCallInfo(ctx context.Context, info *CallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

// safety says when a call may be sent again.
type safety int

const (
	// repeatable calls are idempotent: repeat on any transient failure.
	repeatable safety = iota
	// checkFirst calls are repeated after an ambiguous failure only once
	// a look-up (call.check) shows the first attempt did not take effect.
	checkFirst
	// unsentOnly calls are repeated only when AvaTax cannot have acted
	// on them: the request was never sent, or AvaTax answered 429.
	unsentOnly
)

// call describes one logical AvaTax call.
type call struct {
	op, method, path string
	route            string // URL template for span names
	in, out          any
	body             []byte // in encoded, when known beforehand (not to be modified)
	safety           safety
	doc              docAttrs
	// check reports whether an earlier attempt took effect, filling out
	// when it did; a not-found answer counts as "did not".
	check func(ctx context.Context) (bool, *Error)
}

// failure is a failed request.
type failure struct {
	err   *Error
	sent  bool // the request was written: AvaTax may have acted on it
	local bool // the request never left the client (no slot or no rate-limit turn in time)
}

// ambiguous reports whether AvaTax may have acted on the request. A 429 is
// a refusal: AvaTax did not process the request.
func (f *failure) ambiguous() bool {
	return f.sent && f.err.StatusCode != http.StatusTooManyRequests
}

type stats struct {
	sends, checks int
	recovered     bool
}

// run makes the call k under its span, with retries.
func (c *Client) run(ctx context.Context, k *call) error {
	start := time.Now()
	ctx, span := c.tracer.Start(ctx, "avatax "+k.op,
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(k.doc.attributes(k.op)...))
	defer span.End()

	var st stats
	e := c.loop(ctx, k, &st)

	if info, ok := ctx.Value(callInfoKey{}).(*CallInfo); ok && info != nil {
		*info = CallInfo{Attempts: st.sends, Checks: st.checks, Recovered: st.recovered, Elapsed: time.Since(start)}
	}
	if !span.IsRecording() {
		// The span ignores what follows: spare its attributes.
		if e == nil {
			return nil
		}
		return e
	}
	span.SetAttributes(attribute.Int("avatax.attempts", st.sends))
	if st.checks > 0 {
		span.SetAttributes(attribute.Int("avatax.checks", st.checks), attribute.Bool("avatax.recovered", st.recovered))
	}
	if e == nil {
		return nil
	}
	code := e.Code
	if code == "" {
		code = "HTTP"
		if e.StatusCode == 0 {
			code = "NoAnswer"
		}
	}
	span.SetAttributes(attribute.String("avatax.error_code", code), attribute.String("avatax.error_kind", e.Kind().String()))
	if e.StatusCode != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", e.StatusCode))
	}
	span.RecordError(e)
	span.SetStatus(codes.Error, e.Error())
	return e
}

func (c *Client) loop(parent context.Context, k *call, st *stats) *Error {
	body := k.body
	if body == nil && k.in != nil {
		b, err := fastjson.Marshal(k.in)
		if err != nil {
			return &Error{Op: k.op, Message: "cannot encode the request", Err: fmt.Errorf("encode request: %w", err), kind: KindData}
		}
		body = b
	}
	b := &budget{parent: parent, deadline: time.Now().Add(c.retry.MaxElapsed)}
	defer b.release()

	var last *Error
	uncertain := false // an attempt may have taken effect and no look-up has settled it
	for {
		if uncertain {
			st.checks++
			applied, err := k.check(b.context())
			switch {
			case err == nil && applied:
				st.recovered = true
				return nil
			case err == nil:
				uncertain = false // not applied: send again
			case err.Kind() != KindTransient || st.checks >= c.retry.MaxAttempts:
				return c.giveUp(parent, last, st, true)
			default:
				if c.pause(b.context(), k, st, err) {
					return c.giveUp(parent, last, st, true)
				}
				continue
			}
		}
		if st.sends >= c.retry.MaxAttempts {
			return c.giveUp(parent, last, st, false)
		}
		st.sends++
		f := c.send(b, k, body)
		if f == nil {
			return nil
		}
		if f.local {
			// The context ends before a slot or a rate-limit turn.
			st.sends--
			if last == nil {
				last = f.err
			}
			return c.giveUp(parent, last, st, uncertain)
		}
		last = f.err
		if last.Kind() != KindTransient {
			last.Attempts = st.sends
			return last
		}
		if f.ambiguous() {
			switch k.safety {
			case unsentOnly:
				return c.giveUp(parent, last, st, true)
			case checkFirst:
				uncertain = true
			}
		}
		if !uncertain && st.sends >= c.retry.MaxAttempts {
			return c.giveUp(parent, last, st, false)
		}
		if c.pause(b.context(), k, st, last) {
			return c.giveUp(parent, last, st, uncertain)
		}
	}
}

// budget is the context of a call: its parent, ended at the call's
// deadline (RetryPolicy.MaxElapsed). The context, and its timer, is made
// only when something waits on it: most calls make one request, at once,
// whose own context (see Client.send) then ends at the same time as it
// would within the budget's.
type budget struct {
	parent   context.Context
	deadline time.Time
	ctx      context.Context // nil until made
	cancel   context.CancelFunc
}

// inContext is the budget of a request made within ctx, a budget's
// context (the look-ups of checks).
func inContext(ctx context.Context) *budget {
	return &budget{parent: ctx, ctx: ctx}
}

// context makes (once) and returns the budget's context.
func (b *budget) context() context.Context {
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithDeadline(b.parent, b.deadline)
	}
	return b.ctx
}

// err is context().Err(), without making the context.
func (b *budget) err() error {
	switch {
	case b.ctx != nil:
		return b.ctx.Err()
	case b.parent.Err() != nil:
		return b.parent.Err()
	case !time.Now().Before(b.deadline):
		return context.DeadlineExceeded
	}
	return nil
}

// attempt returns the context of one request within the budget, ending
// timeout from now at the latest.
func (b *budget) attempt(timeout time.Duration) (context.Context, context.CancelFunc) {
	if b.ctx != nil {
		return context.WithTimeout(b.ctx, timeout)
	}
	// What context.WithTimeout(b.context(), timeout) would end at.
	return context.WithDeadline(b.parent, minTime(time.Now().Add(timeout), b.deadline))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (b *budget) release() {
	if b.cancel != nil {
		b.cancel()
	}
}

// pause waits before the next request; it reports true when the call must
// stop instead (the wait would outlast the call's budget or deadline, or
// the context ended).
func (c *Client) pause(ctx context.Context, k *call, st *stats, last *Error) (stop bool) {
	if ctx.Err() != nil {
		return true
	}
	d := c.retry.backoff(st.sends+st.checks, last.RetryAfter)
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
		return true
	}
	reason := last.Code
	if reason == "" {
		reason = http.StatusText(last.StatusCode)
		if last.StatusCode == 0 {
			reason = "no answer"
		}
	}
	c.retries.Add(ctx, 1, metric.WithAttributes(attribute.String("avatax.operation", k.op), attribute.String("reason", reason)))
	c.log.LogAttrs(ctx, slog.LevelDebug, "retrying AvaTax call",
		slog.String("op", k.op), slog.String("code", k.doc.code), slog.Int("attempt", st.sends), slog.Int("checks", st.checks),
		slog.Int("status", last.StatusCode), slog.String("avatax_code", last.Code), slog.Duration("delay", d), slog.String("error", last.Error()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-ctx.Done():
		return true
	}
}

// giveUp returns the error that ends a call: the last failure, or the
// caller's context error when the caller stopped the call.
func (c *Client) giveUp(parent context.Context, last *Error, st *stats, uncertain bool) *Error {
	if err := parent.Err(); err != nil {
		e := &Error{Op: last.Op, Err: last.Err, Attempts: st.sends, Uncertain: uncertain, kind: KindTransient}
		if last.StatusCode != 0 || last.Err == nil || !errors.Is(last.Err, err) {
			e.Err = fmt.Errorf("%w (last failure: %s)", err, last.describe())
		}
		return e
	}
	last.Attempts, last.Uncertain = st.sends, uncertain
	return last
}
