// Command taxbridge runs the tax worker: `taxbridge` (or `taxbridge run`)
// processes OMS events until interrupted; `taxbridge demo` replays the
// OneStock flows against an embedded NATS server and the AvaTax sandbox
// (`taxbridge demo --hold` then keeps that server up for taxctl).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/demo"
	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/telemetry"
)

func main() {
	money.EncodeAmountsAsNumbers() // amounts are JSON numbers in the event contract
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "taxbridge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "run":
		return serve(ctx)
	case "demo":
		hold := len(args) > 1 && (args[1] == "--hold" || args[1] == "-hold")
		return runDemo(ctx, hold)
	case "help", "-h", "--help":
		fmt.Println("usage: taxbridge [run|demo [--hold]|help]\n\nEnvironment:")
		if err := config.Usage(); err != nil {
			return err
		}
		fmt.Println("\nOpenTelemetry: the standard OTEL_* variables, e.g. OTEL_TRACES_EXPORTER=otlp|console|none and\n" +
			"OTEL_METRICS_EXPORTER=otlp|console|none (both none when unset), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME.")
		return nil
	}
	return fmt.Errorf("unknown command %q; try taxbridge help", cmd)
}

func logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return telemetry.NewLogger(os.Stderr, l)
}

// startApp sets up the OTEL_* exporters as this process's globals and
// starts taxbridge; stop closes both.
func startApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (a *app.App, tel *telemetry.Telemetry, stop func(), err error) {
	if tel, err = telemetry.Setup(ctx, telemetry.WithServiceVersion(app.Version)); err != nil {
		return nil, nil, nil, err
	}
	tel.SetGlobal()
	if a, err = app.Start(ctx, cfg, log, app.WithTelemetry(tel.TracerProvider, tel.MeterProvider, tel.Metrics)); err != nil {
		_ = tel.ShutdownWithin(5 * time.Second)
		return nil, nil, nil, err
	}
	return a, tel, func() { a.Close(); _ = tel.ShutdownWithin(5 * time.Second) }, nil
}

func serve(ctx context.Context) error {
	cfg, err := config.Load(config.CredentialsFromStore)
	if err != nil {
		return err
	}
	log := logger(cfg.LogLevel)
	a, tel, stop, err := startApp(ctx, cfg, log)
	if err != nil {
		// SIGINT or SIGTERM while waiting for NATS is an ordinary stop.
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			log.Info("taxbridge stopped before it started", "err", err)
			return nil
		}
		return err
	}
	defer stop()
	log.Info("taxbridge running; SIGINT or SIGTERM drains in-flight events and stops",
		"traces_exporter", tel.TracesExporter, "metrics_exporter", tel.MetricsExporter)
	err = a.Run(ctx)
	log.Info("taxbridge stopped")
	return err
}

func runDemo(ctx context.Context, hold bool) error {
	dir, err := os.MkdirTemp("", "taxbridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The demo's own NATS and sandbox replace what the environment says,
	// before the configuration is checked.
	plexSB, err := demo.StartPlexSandbox()
	if err != nil {
		return err
	}
	defer plexSB.Close()
	cfg, err := config.Load(func(c *config.Config) { demo.Configure(c, dir, hold); demo.ConfigurePlex(c, plexSB) })
	if err != nil {
		return err
	}
	a, _, stop, err := startApp(ctx, cfg, logger(os.Getenv("TAXBRIDGE_DEMO_LOG")))
	if err != nil {
		return err
	}
	defer stop()
	return demo.Play(ctx, a, scenario.OneStock(""), plexSB, os.Stdout, hold)
}
