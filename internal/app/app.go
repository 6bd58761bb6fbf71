// Package app assembles taxbridge from its configuration: NATS (embedded or
// remote), the JetStream resources, the AvaTax client (Avalara's service or
// the built-in sandbox) and the worker.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avatax/sandbox"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
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
	Sandbox *sandbox.Sandbox
	Worker  *worker.Worker
	Log     *slog.Logger

	embedded   *bus.Embedded
	sandboxSrv *http.Server
}

// Start connects and provisions everything; Run then processes events.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (a *App, err error) {
	a = &App{Config: cfg, Log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.TaxConfig, err = taxconfig.Load(cfg.TaxConfigFile); err != nil {
		return nil, err
	}
	natsDesc, err := a.connectNATS(cfg)
	if err != nil {
		return nil, err
	}
	avaDesc, err := a.connectAvaTax(cfg)
	if err != nil {
		return nil, err
	}
	// The first log line says what taxbridge runs against.
	log.Info("taxbridge starting", "version", Version, "nats", natsDesc, "avatax", avaDesc,
		"company", a.TaxConfig.Provider.CompanyCode)

	if a.JS, err = jetstream.New(a.NC); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	topo := bus.DefaultTopology
	topo.AckWait, topo.MaxDeliver = cfg.AckWait, cfg.MaxDeliver
	if a.Resources, err = bus.Provision(ctx, a.JS, topo); err != nil {
		return nil, err
	}
	a.Store = store.New(a.Resources.Orders)
	v, err := events.NewValidator()
	if err != nil {
		return nil, err
	}
	a.Worker = worker.New(a.JS, a.Store, v, taxdoc.NewMapper(a.TaxConfig), a.AvaTax, worker.Options{
		Concurrency: cfg.Concurrency, IntentLease: cfg.AckWait, MaxDeliver: cfg.MaxDeliver, Logger: log,
	})
	return a, nil
}

func (a *App) connectNATS(cfg *config.Config) (string, error) {
	var err error
	if cfg.NATSURL != "" {
		opts := []nats.Option{nats.Name("taxbridge"), nats.MaxReconnects(-1)}
		if cfg.NATSCredsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.NATSCredsFile))
		}
		if a.NC, err = nats.Connect(cfg.NATSURL, opts...); err != nil {
			return "", fmt.Errorf("connect to NATS at %s: %w", cfg.NATSURL, err)
		}
		return "server " + a.NC.ConnectedUrlRedacted(), nil
	}
	if a.embedded, err = bus.StartEmbedded(cfg.DataDir, cfg.NATSListen); err != nil {
		return "", err
	}
	if a.NC, err = a.embedded.Connect(nats.Name("taxbridge")); err != nil {
		return "", err
	}
	desc := "embedded nats-server with JetStream, data in " + cfg.DataDir
	if u := a.embedded.URL(); u != "" {
		desc += ", listening on " + u
	}
	return desc, nil
}

func (a *App) connectAvaTax(cfg *config.Config) (string, error) {
	opts := []avatax.Option{avatax.WithTimeout(cfg.AvaTaxTimeout), avatax.WithClientHeader("taxbridge", Version)}
	if !cfg.UsesSandbox() {
		url := cfg.AvaTaxURL
		if url == "" {
			url = avatax.SandboxURL
		}
		a.AvaTax = avatax.New(url, avatax.Credentials{AccountID: cfg.AvaTaxAccountID, LicenseKey: cfg.AvaTaxLicenseKey}, opts...)
		return "Avalara at " + url + " as account " + cfg.AvaTaxAccountID, nil
	}
	url, err := a.startSandbox()
	if err != nil {
		return "", err
	}
	a.AvaTax = avatax.New(url, avatax.Credentials{AccountID: sandbox.DefaultAccountID, LicenseKey: sandbox.DefaultLicenseKey}, opts...)
	return "built-in AvaTax sandbox at " + url + " (no AvaTax credentials configured)", nil
}

// startSandbox serves the built-in sandbox over real HTTP on loopback.
func (a *App) startSandbox() (string, error) {
	a.Sandbox = sandbox.New(sandbox.Options{})
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

// Run processes events until ctx is cancelled, then drains in-flight work.
func (a *App) Run(ctx context.Context) error {
	return a.Worker.Run(ctx, a.Resources.Consumer)
}

// Close releases everything Start acquired, in reverse order.
func (a *App) Close() {
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
