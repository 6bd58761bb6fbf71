// Command taxbridge runs the tax worker: `taxbridge` (or `taxbridge run`)
// processes OMS events until interrupted; `taxbridge demo` replays the
// OneStock flows against an embedded NATS server and the AvaTax sandbox
// (`taxbridge demo --hold` then keeps that server up for taxctl).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/demo"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/telemetry"
)

func main() {
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

// startTelemetry sets up the OTEL_* exporters and makes them the globals
// of this process; stop flushes them.
func startTelemetry(ctx context.Context) (*telemetry.Telemetry, func(), error) {
	tel, err := telemetry.Setup(ctx, telemetry.Options{ServiceVersion: app.Version})
	if err != nil {
		return nil, nil, err
	}
	tel.SetGlobal()
	return tel, func() { _ = tel.ShutdownWithin(5 * time.Second) }, nil
}

func serve(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := logger(cfg.LogLevel)
	tel, stopTelemetry, err := startTelemetry(ctx)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	a, err := app.Start(ctx, cfg, log, app.WithTelemetry(tel.TracerProvider, tel.MeterProvider, tel.Metrics))
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("taxbridge running; SIGINT or SIGTERM drains in-flight events and stops",
		"traces_exporter", tel.TracesExporter, "metrics_exporter", tel.MetricsExporter)
	err = a.Run(ctx)
	log.Info("taxbridge stopped")
	return err
}

// runDemo always uses an embedded, in-process NATS server in a fresh
// directory and the built-in sandbox, whatever the environment says, and
// no HTTP listener. With hold, the server also listens on
// TAXBRIDGE_NATS_LISTEN and stays up after the flows until interrupted,
// so that taxctl can read the demo's audit trail.
func runDemo(ctx context.Context, hold bool) error {
	dir, err := os.MkdirTemp("", "taxbridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	listen := cfg.NATSListen
	cfg.NATSURL, cfg.NATSListen, cfg.DataDir, cfg.HTTPListen = "", "", dir, ""
	if hold {
		cfg.NATSListen = listen
	}
	cfg.AvaTaxURL, cfg.AvaTaxAccountID, cfg.AvaTaxLicenseKey = "", "", ""
	log := logger(os.Getenv("TAXBRIDGE_DEMO_LOG"))
	tel, stopTelemetry, err := startTelemetry(ctx)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	a, err := app.Start(ctx, cfg, log, app.WithTelemetry(tel.TracerProvider, tel.MeterProvider, tel.Metrics))
	if err != nil {
		return err
	}
	defer a.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	flows := scenario.OneStock("")
	fmt.Printf("taxbridge demo: %d OneStock flows through an embedded NATS server and the built-in AvaTax sandbox\n", len(flows))
	_, demoErr := demo.Run(ctx, a, flows, os.Stdout, 30*time.Second)
	if hold && demoErr == nil {
		fmt.Printf("\nthe demo's NATS server listens on %s until you press Ctrl-C; in another terminal try\n"+
			"  TAXBRIDGE_NATS_URL=%s go run ./cmd/taxctl audit WEB-3\n", a.NATSURL(), a.NATSURL())
		<-ctx.Done()
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	return demoErr
}
