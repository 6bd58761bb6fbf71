// Command taxbridge runs the tax worker: `taxbridge` (or `taxbridge run`)
// processes OMS events until interrupted; `taxbridge demo` replays the
// OneStock flows against an embedded NATS server and the AvaTax sandbox.
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
		return runDemo(ctx)
	case "help", "-h", "--help":
		fmt.Println("usage: taxbridge [run|demo|help]\n\nEnvironment:")
		return config.Usage()
	}
	return fmt.Errorf("unknown command %q; try taxbridge help", cmd)
}

func logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func serve(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := logger(cfg.LogLevel)
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("taxbridge running; SIGINT or SIGTERM drains in-flight events and stops")
	err = a.Run(ctx)
	log.Info("taxbridge stopped")
	return err
}

// runDemo always uses an embedded, in-process NATS server in a fresh
// directory and the built-in sandbox, whatever the environment says.
func runDemo(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "taxbridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	cfg.NATSURL, cfg.NATSListen, cfg.DataDir = "", "", dir
	cfg.AvaTaxURL, cfg.AvaTaxAccountID, cfg.AvaTaxLicenseKey = "", "", ""
	log := logger(os.Getenv("TAXBRIDGE_DEMO_LOG"))
	a, err := app.Start(ctx, cfg, log)
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
	cancel()
	if err := <-done; err != nil {
		return err
	}
	return demoErr
}
