// Package app assembles taxbridge from its configuration: NATS (embedded or
// remote), the JetStream resources, the AvaTax client (Avalara's service or
// the built-in sandbox) and the worker.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/health"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexpoll"
	"github.com/taxbridge/taxbridge/internal/plexwriteback"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
	"github.com/taxbridge/taxbridge/internal/taxservice"
	"github.com/taxbridge/taxbridge/internal/worker"
)

// Version is taxbridge's version, set at build time with -ldflags.
var Version = "dev"

// App is a running taxbridge.
type App struct {
	Config    *config.Config
	TaxConfig *taxconfig.Config
	NC        *nats.Conn
	JS        jetstream.JetStream
	Resources *bus.Resources
	Store     *store.Store
	AvaTax    *avatax.Client
	// Sandbox is the built-in AvaTax sandbox, nil when Avalara is configured.
	Sandbox *avataxsim.Sandbox
	Worker  *worker.Worker
	// TaxService answers Order Administration's tax requests over NATS
	// (micro service taxservice.ServiceName) and on POST
	// taxservice.HTTPPath; nil when the tax configuration is one AvaTax
	// cannot serve (tax-inclusive pricing).
	TaxService *taxservice.Service
	// Plex, PlexPoller and PlexWriteback are the Plex integration, nil
	// when it is off (TAXBRIDGE_PLEX_URL empty; the poller with a poll
	// interval of 0, the write-back with TAXBRIDGE_PLEX_WRITEBACK=false).
	Plex          *plex.Client
	PlexPoller    *plexpoll.Poller
	PlexWriteback *plexwriteback.Writer
	Log           *slog.Logger

	// TracerProvider and MeterProvider receive taxbridge's telemetry.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Health serves /healthz, /readyz and /metrics; HTTPAddr is where,
	// when Config.HTTPListen is set ("" otherwise).
	Health   *health.Handler
	HTTPAddr string

	embedded   *bus.Embedded
	wait       natsWait
	sandboxSrv *http.Server
	httpSrv    *http.Server
	metrics    http.Handler
	taxMicro   micro.Service
	// taxHTTP is TaxService's handler once it runs: the listener starts
	// before NATS is connected.
	taxHTTP atomic.Pointer[http.Handler]
}

// Option configures Start.
type Option func(*App)

// WithTelemetry sends spans to tp and metrics to mp, and serves metrics
// (the Prometheus handler of the same metrics) on /metrics. Without it
// taxbridge reports to the OpenTelemetry globals and serves no /metrics.
func WithTelemetry(tp trace.TracerProvider, mp metric.MeterProvider, metrics http.Handler) Option {
	return func(a *App) { a.TracerProvider, a.MeterProvider, a.metrics = tp, mp, metrics }
}

// Start connects and provisions everything; Run then processes events.
//
// With TAXBRIDGE_NATS_URL set, Start waits for that server (see
// waitForNATS) with the HTTP listener already up, so that /healthz answers
// and /readyz says what it waits for.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (_ *App, err error) {
	// Not the named result: a failed start returns nil, and the deferred
	// Close must still release what was acquired.
	a := &App{Config: cfg, Log: log}
	for _, o := range opts {
		o(a)
	}
	if a.TracerProvider == nil {
		a.TracerProvider = otel.GetTracerProvider()
	}
	if a.MeterProvider == nil {
		a.MeterProvider = otel.GetMeterProvider()
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	// First, before anything starts: a configuration that would run the
	// sandbox without asking for it is refused (config.AvaTaxService).
	service, err := cfg.AvaTaxService()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if a.TaxConfig, err = taxconfig.Load(cfg.TaxConfigFile); err != nil {
		return nil, err
	}
	natsDesc, err := a.startEmbedded(cfg)
	if err != nil {
		return nil, err
	}
	ava, err := a.avaTaxTarget(cfg, service)
	if err != nil {
		return nil, err
	}
	// The first log line says what taxbridge runs against.
	log.Info("taxbridge starting", "version", Version, "nats", natsDesc, "avatax", ava.desc,
		"company", a.TaxConfig.Provider.CompanyCode)

	a.Health = health.New([]health.Check{{Name: "nats", Run: a.wait.check}}, a.metrics, 5*time.Second)
	if cfg.HTTPListen != "" {
		if err := a.serveHTTP(cfg.HTTPListen); err != nil {
			return nil, err
		}
	}
	topo := bus.DefaultTopology
	topo.AckWait, topo.MaxDeliver, topo.AuditMaxAge = cfg.AckWait, cfg.MaxDeliver, cfg.AuditMaxAge
	topo.RecordMaxAge = cfg.RecordMaxAge
	// A single server holds one replica; config refuses more for the
	// embedded one, and a Config built in code may leave it 0.
	if topo.Replicas = cfg.NATSReplicas; topo.Replicas < 1 || a.embedded != nil {
		topo.Replicas = 1
	}
	if err := a.connectNATS(ctx, cfg, topo); err != nil {
		return nil, err
	}
	if err := a.loadCredentials(ctx, cfg, topo.Replicas); err != nil {
		return nil, err
	}
	if service == config.AvaTaxAvalara {
		ava.creds.LicenseKey = cfg.AvaTaxLicenseKey // the store's, when the environment had none
	}
	a.newAvaTax(cfg, ava)
	a.Store = store.New(a.Resources.Orders, store.WithTracerProvider(a.TracerProvider))
	v, err := events.NewValidator()
	if err != nil {
		return nil, err
	}
	a.Worker = worker.New(a.Store, bus.Publisher{JS: a.JS}, v, taxdoc.NewMapper(a.TaxConfig), a.AvaTax,
		worker.WithConcurrency(cfg.Concurrency), worker.WithIntentLease(cfg.AckWait), worker.WithMaxDeliver(cfg.MaxDeliver),
		worker.WithLogger(log), worker.WithUnfinished(store.NewUnfinished(a.Resources.Unfinished)),
		worker.WithTracerProvider(a.TracerProvider), worker.WithMeterProvider(a.MeterProvider))
	if err := a.startTaxService(ctx, cfg, ava); err != nil {
		return nil, err
	}
	if err := a.startPlex(ctx, cfg, topo.Replicas); err != nil {
		return nil, err
	}
	// Last: the checks read what Start assigned above.
	a.Health.SetChecks(a.readiness())
	return a, nil
}

// readiness lists the conditions of /readyz: NATS connected, taxbridge's
// streams, consumer and bucket present, AvaTax answering (Avalara's
// service with accepted credentials, or the built-in sandbox).
func (a *App) readiness() []health.Check {
	streams := []string{bus.EventsStream, bus.ResultsStream, bus.DLQStream, bus.AuditStream}
	avaName := "avatax"
	if a.Sandbox != nil {
		avaName = "avatax_sandbox"
	}
	return []health.Check{
		{Name: "nats", Run: func(context.Context) error {
			if st := a.NC.Status(); st != nats.CONNECTED {
				return fmt.Errorf("NATS connection is %s", st)
			}
			return nil
		}},
		{Name: "streams", CacheOK: 5 * time.Second, Run: func(ctx context.Context) error {
			for _, name := range streams {
				if _, err := a.JS.Stream(ctx, name); err != nil {
					return fmt.Errorf("stream %s: %w", name, err)
				}
			}
			if _, err := a.JS.Consumer(ctx, bus.EventsStream, bus.WorkerName); err != nil {
				return fmt.Errorf("consumer %s: %w", bus.WorkerName, err)
			}
			if _, err := a.JS.KeyValue(ctx, bus.OrdersBucket); err != nil {
				return fmt.Errorf("bucket %s: %w", bus.OrdersBucket, err)
			}
			return nil
		}},
		{Name: avaName, CacheOK: 30 * time.Second, CacheFail: 5 * time.Second, Run: func(ctx context.Context) error {
			p, err := a.AvaTax.Ping(ctx)
			if err != nil {
				return err
			}
			if !p.Authenticated {
				return errors.New("AvaTax answers but does not accept the credentials")
			}
			return nil
		}},
	}
}

// serveHTTP serves Health on addr (port 0 picks a free one).
func (a *App) serveHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HTTP listener (TAXBRIDGE_HTTP_LISTEN) %s: %w", addr, err)
	}
	a.HTTPAddr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/", a.Health)
	mux.HandleFunc("POST "+taxservice.HTTPPath, func(w http.ResponseWriter, r *http.Request) {
		if h := a.taxHTTP.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, "tax requests are not served (yet): see the log", http.StatusServiceUnavailable)
	})
	a.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("HTTP listener stopped", "err", err)
		}
	}()
	a.Log.Info("HTTP listening", "addr", "http://"+a.HTTPAddr, "endpoints", "/healthz /readyz /metrics")
	return nil
}

// startEmbedded starts the embedded nats-server when no NATS URL is
// configured, and describes the NATS taxbridge runs against.
func (a *App) startEmbedded(cfg *config.Config) (string, error) {
	if cfg.NATSURL != "" {
		return "server " + bus.RedactURL(cfg.NATSURL), nil
	}
	var err error
	if a.embedded, err = bus.StartEmbedded(cfg.DataDir, cfg.NATSListen, embeddedOptions(cfg)...); err != nil {
		return "", err
	}
	desc := "embedded nats-server with JetStream, data in " + cfg.DataDir
	if cfg.NATSStoreKey != "" {
		desc += " (encrypted at rest)"
	}
	if u := a.embedded.URL(); u != "" {
		desc += ", listening on " + u
	}
	return desc, nil
}

// avaTax is the AvaTax service taxbridge calls.
type avaTax struct {
	url, desc string
	creds     avatax.Credentials
}

// avaTaxTarget describes Avalara's service, or starts the built-in
// sandbox, as service (config.AvaTaxService) says.
func (a *App) avaTaxTarget(cfg *config.Config, service string) (avaTax, error) {
	if service == config.AvaTaxAvalara {
		url := cfg.AvaTaxURL
		if url == "" {
			url = avatax.SandboxURL
		}
		return avaTax{url: url, desc: "Avalara at " + url + " as account " + cfg.AvaTaxAccountID,
			creds: avatax.Credentials{AccountID: cfg.AvaTaxAccountID, LicenseKey: cfg.AvaTaxLicenseKey}}, nil
	}
	url, err := a.startSandbox()
	if err != nil {
		return avaTax{}, err
	}
	why := "nothing configured"
	if cfg.AvaTax == config.AvaTaxSandbox {
		why = "TAXBRIDGE_AVATAX=sandbox"
	}
	return avaTax{url: url, desc: "built-in AvaTax sandbox at " + url + " (" + why + "; its tax is invented, never use it for real orders)",
		creds: avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey}}, nil
}

// newAvaTax makes the AvaTax client; its audit trail publishes on a.JS.
func (a *App) newAvaTax(cfg *config.Config, ava avaTax) {
	a.AvaTax = a.avaTaxClient(cfg, ava)
}

// avaTaxClient makes an AvaTax client whose HTTP transport is wrap (when
// not nil) over the audit transport.
func (a *App) avaTaxClient(cfg *config.Config, ava avaTax, opts ...avatax.Option) *avatax.Client {
	// Every exchange is recorded in the audit trail, below the client's
	// own (otelhttp) transport, so that records carry the HTTP span.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = max(cfg.Concurrency, 16)
	tr := audit.NewTransport(base, audit.WithPublisher(a.JS), audit.WithCredentials(ava.creds.AccountID, ava.creds.LicenseKey),
		audit.WithMeterProvider(a.MeterProvider), audit.WithLogger(a.Log))
	return avatax.New(ava.url, ava.creds, append([]avatax.Option{
		avatax.WithTimeout(cfg.AvaTaxTimeout), avatax.WithClientHeader("taxbridge", Version),
		avatax.WithHTTPClient(&http.Client{Transport: tr}),
		avatax.WithTracerProvider(a.TracerProvider), avatax.WithMeterProvider(a.MeterProvider), avatax.WithLogger(a.Log),
		// One call, retries included, ends well before the event's lease.
		avatax.WithRetry(avatax.RetryPolicy{MaxElapsed: cfg.AckWait * 2 / 3}),
		avatax.WithMaxConcurrency(cfg.AvaTaxMaxConcurrency),
		avatax.WithRateLimit(cfg.AvaTaxRateLimit, cfg.AvaTaxBurst)}, opts...)...)
}

// startTaxService serves Order Administration's tax requests
// (internal/taxservice) on the app's NATS connection and HTTP listener,
// for the tax configuration's AvaTax company. Its client asks AvaTax for
// the jurisdiction details the worker's does not. A tax-inclusive
// configuration cannot be served by AvaTax: the service is then left out,
// with a warning, and the worker runs as before.
func (a *App) startTaxService(ctx context.Context, cfg *config.Config, ava avaTax) error {
	tc, err := taxServiceConfig(a.TaxConfig)
	if err != nil {
		return err
	}
	svc, err := taxservice.New(tc, a.avaTaxClient(cfg, ava, avatax.WithDetails()),
		taxservice.WithTracerProvider(a.TracerProvider), taxservice.WithLogger(a.Log), taxservice.WithAudit(a.JS))
	if err != nil {
		a.Log.Warn("Order Administration tax requests are not served", "err", err)
		return nil
	}
	if a.taxMicro, err = svc.Serve(ctx, a.NC, taxservice.WithConcurrency(cfg.Concurrency)); err != nil {
		return fmt.Errorf("tax request service: %w", err)
	}
	a.TaxService = svc
	h := svc.Handler()
	a.taxHTTP.Store(&h)
	return nil
}

// taxServiceConfig is the tax service's configuration from the tax
// configuration's order_administration section: companies listed there,
// and the others, unless refused, on provider.company_code.
func taxServiceConfig(c *taxconfig.Config) (taxservice.Config, error) {
	tc := taxservice.Config{}
	unlisted := &taxservice.CompanyConfig{AvaTaxCompany: c.Provider.CompanyCode, TaxIncludedInPrice: c.Global.TaxesIncludedInPrice}
	oa := c.OrderAdministration
	if oa == nil {
		tc.Default = unlisted
		return tc, nil
	}
	if oa.ServeUnlistedCompanies == nil || *oa.ServeUnlistedCompanies {
		tc.Default = unlisted
	}
	tc.ChargeTaxCodes, tc.DefaultTaxCode = oa.ChargeTaxCodes, oa.DefaultTaxCode
	for _, x := range oa.CrossReference {
		tc.CrossReference = append(tc.CrossReference, taxservice.CrossReference{ItemClass: x.ItemClass,
			Division: x.Division, Department: x.Department, Class: x.Class, TaxCode: x.TaxCode})
	}
	tc.Companies = make(map[int]taxservice.CompanyConfig, len(oa.Companies))
	for key, co := range oa.Companies {
		n, err := strconv.Atoi(key)
		if err != nil {
			return tc, fmt.Errorf("tax configuration /order_administration/companies/%s: not a company number: %w", key, err)
		}
		tc.Companies[n] = taxservice.CompanyConfig{AvaTaxCompany: cmp.Or(co.AvaTaxCompany, c.Provider.CompanyCode),
			TaxIncludedInPrice: c.Global.TaxesIncludedInPrice, SendQuoteNotInvoice: co.SendQuoteNotInvoice,
			FallbackToStandardRates: co.FallbackToStandardRates, StandardRates: co.StandardRates}
	}
	return tc, nil
}

// startSandbox serves the built-in sandbox over real HTTP on loopback.
func (a *App) startSandbox() (string, error) {
	a.Sandbox = avataxsim.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("built-in AvaTax sandbox: %w", err)
	}
	a.sandboxSrv = &http.Server{Handler: a.Sandbox, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.sandboxSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("built-in AvaTax sandbox stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// NATSURL is the URL other processes (taxctl, the nats CLI) reach
// taxbridge's NATS server at: the configured one, or the embedded server's
// when it listens on TCP ("" when it is in-process only).
func (a *App) NATSURL() string {
	if a.embedded != nil {
		return a.embedded.URL()
	}
	return a.Config.NATSURL
}

// Run processes events, and polls Plex and writes tax back to it when
// that is on, until ctx is cancelled or one of them fails; then it drains
// in-flight work.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Worker.Run(ctx, a.Resources.Consumer) })
	if a.PlexPoller != nil {
		g.Go(func() error { return a.PlexPoller.Run(ctx) })
	}
	if a.PlexWriteback != nil {
		g.Go(func() error { return a.PlexWriteback.Run(ctx) })
	}
	return g.Wait()
}

// Close releases everything Start acquired, in reverse order.
func (a *App) Close() {
	if a.taxMicro != nil {
		_ = a.taxMicro.Stop()
	}
	if a.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.httpSrv.Shutdown(ctx)
		cancel()
	}
	if a.NC != nil {
		// Drain flushes what was published; wait for it before the
		// embedded server goes away.
		if a.NC.Drain() == nil {
			for deadline := time.Now().Add(5 * time.Second); !a.NC.IsClosed() && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
		}
		a.NC.Close()
	}
	if a.sandboxSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.sandboxSrv.Shutdown(ctx)
		cancel()
	}
	if a.embedded != nil {
		a.embedded.Shutdown()
	}
}
