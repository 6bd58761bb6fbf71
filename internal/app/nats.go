package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
)

// Pacing of the attempts to reach NATS at start: exponential, each delay
// drawn between half and one and a half times the interval, so replicas
// started together do not knock in step.
const (
	natsFirstRetry = 500 * time.Millisecond
	natsMaxRetry   = 30 * time.Second
	// natsAttemptTimeout bounds one attempt's provisioning: a server that
	// accepts connections while its JetStream elects a leader leaves
	// requests unanswered until their deadline.
	natsAttemptTimeout = 10 * time.Second
)

// errNATSTimeout ends the wait for NATS when TAXBRIDGE_NATS_CONNECT_TIMEOUT
// has passed.
var errNATSTimeout = errors.New("TAXBRIDGE_NATS_CONNECT_TIMEOUT passed")

// embeddedOptions are the options of the embedded nats-server: its
// JetStream store encrypted at rest under TAXBRIDGE_NATS_STORE_KEY when
// that is set (config refuses it with TAXBRIDGE_NATS_URL).
func embeddedOptions(cfg *config.Config) []bus.EmbeddedOption {
	return []bus.EmbeddedOption{bus.WithStoreKey(cfg.NATSStoreKey)}
}

// connectNATS connects to the embedded server, or waits for the configured
// one, and provisions taxbridge's resources there.
func (a *App) connectNATS(ctx context.Context, cfg *config.Config, topo bus.Topology) error {
	if a.embedded == nil {
		return a.waitForNATS(ctx, cfg, topo)
	}
	var err error
	if a.NC, err = a.embedded.Connect(a.natsOptions(cfg)...); err != nil {
		return err
	}
	if a.JS, err = jetstream.New(a.NC); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	a.Resources, err = bus.Provision(ctx, a.JS, topo)
	return err
}

// natsOptions are the options of taxbridge's NATS connection: it
// reconnects forever once connected (the worker resumes by itself) and logs
// losing and regaining the server once each.
func (a *App) natsOptions(cfg *config.Config) []nats.Option {
	opts := append(bus.LogConnectionEvents(a.Log), nats.Name("taxbridge"), nats.MaxReconnects(-1))
	if cfg.NATSURL != "" && cfg.NATSCredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.NATSCredsFile))
	}
	return opts
}

// waitForNATS connects to cfg.NATSURL and provisions the streams, consumer
// and buckets, retrying with exponential backoff and jitter until that
// works, an error waiting cannot fix comes, ctx ends, or
// TAXBRIDGE_NATS_CONNECT_TIMEOUT passes (0: never). Each failed attempt is
// logged once, with the delay before the next.
//
// It does not use nats.RetryOnFailedConnect: with it Connect returns a
// connection that is not connected yet, the JetStream requests of the
// provisioning would each wait out their timeout meanwhile, the first
// connection would be reported by the ReconnectHandler as a reconnection,
// and retries would be paced and bounded by count (MaxReconnects), not by
// time. The loop instead keeps a connection once made (it reconnects by
// itself from then on) and retries the provisioning on it.
func (a *App) waitForNATS(ctx context.Context, cfg *config.Config, topo bus.Topology) error {
	url := bus.RedactURL(cfg.NATSURL)
	a.wait.set(url, 0, nil, 0)
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.NATSConnectTimeout > 0 {
		wctx, cancel = context.WithTimeoutCause(ctx, cfg.NATSConnectTimeout, errNATSTimeout)
	}
	defer cancel()
	began := time.Now()
	attempts := 0
	var last error
	_, err := backoff.Retry(wctx, func() (struct{}, error) {
		attempts++
		last = a.tryNATS(wctx, cfg, topo)
		if last != nil && !transient(last) {
			return struct{}{}, backoff.Permanent(last)
		}
		return struct{}{}, last
	},
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: natsFirstRetry, RandomizationFactor: 0.5,
			Multiplier: 2, MaxInterval: natsMaxRetry}),
		// Retry's own bound (15 minutes unless set) would end the wait
		// early, and gives up when the next delay would cross it; wctx
		// carries the configured one.
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			a.wait.set(url, attempts, err, next)
			attrs := []any{"url", url, "attempt", attempts, "err", err}
			if deadline, ok := wctx.Deadline(); ok && time.Until(deadline) < next {
				attrs = append(attrs, "gives_up_in", time.Until(deadline).Round(time.Millisecond))
			} else {
				attrs = append(attrs, "retry_in", next.Round(time.Millisecond))
			}
			a.Log.Warn("NATS not usable yet", attrs...)
		}))
	switch {
	case err == nil:
		if attempts > 1 {
			a.Log.Info("NATS usable", "url", url, "attempts", attempts, "waited", time.Since(began).Round(time.Millisecond))
		}
		return nil
	case errors.Is(context.Cause(wctx), errNATSTimeout) && ctx.Err() == nil:
		return fmt.Errorf("NATS at %s not usable after %s (TAXBRIDGE_NATS_CONNECT_TIMEOUT), %d attempts: %w",
			url, cfg.NATSConnectTimeout, attempts, last)
	case ctx.Err() != nil:
		return fmt.Errorf("stopped waiting for NATS at %s after %d attempts (last: %v): %w", url, attempts, last, ctx.Err())
	default:
		return fmt.Errorf("NATS at %s: %w", url, err)
	}
}

// tryNATS is one attempt: connect unless connected, then provision.
func (a *App) tryNATS(ctx context.Context, cfg *config.Config, topo bus.Topology) error {
	if a.NC == nil {
		nc, err := nats.Connect(cfg.NATSURL, a.natsOptions(cfg)...)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		a.NC = nc
		if a.JS, err = jetstream.New(nc); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, natsAttemptTimeout)
	defer cancel()
	res, err := bus.Provision(pctx, a.JS, topo)
	if err != nil {
		return err
	}
	a.Resources = res
	return nil
}

// transient reports whether waiting may cure err: the server unreachable,
// not answering, or its JetStream not available yet. A server that answers
// and refuses (credentials, a configuration JetStream rejects) or a
// credentials file that cannot be read will not change its mind.
func transient(err error) bool {
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &pathErr),
		errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired),
		errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired):
		return false
	}
	var jsErr jetstream.JetStreamError
	if errors.As(err, &jsErr) && jsErr.APIError() != nil {
		api := jsErr.APIError()
		// 503: JetStream disabled or not ready; 10005: no peers for the
		// replicas yet, as while a cluster forms.
		return api.Code == http.StatusServiceUnavailable || api.ErrorCode == 10005
	}
	return true
}

// natsWait is the state of the wait for NATS, for /readyz meanwhile.
type natsWait struct {
	mu       sync.Mutex
	url      string
	attempts int
	err      error
	retryAt  time.Time
}

func (w *natsWait) set(url string, attempts int, err error, next time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.url, w.attempts, w.err, w.retryAt = url, attempts, err, time.Now().Add(next)
}

// check is /readyz's nats condition until taxbridge has started.
func (w *natsWait) check(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.url == "":
		return errors.New("connecting to NATS")
	case w.err == nil:
		return fmt.Errorf("connecting to NATS at %s", w.url)
	}
	return fmt.Errorf("waiting for NATS at %s: attempt %d failed: %w; next in %s",
		w.url, w.attempts, w.err, max(time.Until(w.retryAt).Round(100*time.Millisecond), 0))
}
