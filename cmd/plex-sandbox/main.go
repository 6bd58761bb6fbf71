// Command plex-sandbox serves the local Plex Connect emulator.
//
//	plex-sandbox [-addr 127.0.0.1:8087] [-seed seed.json] [-api-key KEY] [-tenant ID]
//	             [-oauth-client-id ID -oauth-client-secret SECRET]
//	             [-budget 200 -budget-window 1m]
//	             [fault injection: -error-rate P -429-rate P -retry-after D -latency D -latency-jitter D -fault-seed N]
//
// The seed file is a JSON object with salesOrders, customers, addresses,
// purchaseOrders, suppliers, supplierAddresses and purchasingDefaults (see
// docs/plex.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taxbridge/taxbridge/internal/plexsim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "plex-sandbox:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("plex-sandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8087", "listen address")
	seedFile := fs.String("seed", "", "JSON file of seed data (empty: no data)")
	apiKey := fs.String("api-key", plexsim.DefaultAPIKey, "the API key the sandbox accepts")
	tenant := fs.String("tenant", "", "the only tenant id accepted in the tenant header (empty: any)")
	clientID := fs.String("oauth-client-id", "", "require OAuth bearer tokens from POST /oauth/token for this client id")
	clientSecret := fs.String("oauth-client-secret", "", "the client secret of -oauth-client-id")
	budget := fs.Int("budget", plexsim.DefaultBudget, "calls per key per -budget-window before 429 (negative: unlimited)")
	budgetWindow := fs.Duration("budget-window", time.Minute, "window of -budget")
	var f plexsim.Faults
	fs.Float64Var(&f.ErrorRate, "error-rate", 0, "share (0..1) of calls answered 500 or 503")
	fs.Float64Var(&f.TooManyRequestsRate, "429-rate", 0, "share (0..1) of calls refused with 429")
	fs.DurationVar(&f.RetryAfter, "retry-after", 0, "Retry-After of an injected 429 (default 1s)")
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every call")
	fs.DurationVar(&f.LatencyJitter, "latency-jitter", 0, "extra uniform random latency, 0..this")
	fs.Uint64Var(&f.Seed, "fault-seed", 0, "random seed of the fault injection (0 = from the clock)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sb, err := newSandbox(*seedFile,
		plexsim.WithAPIKey(*apiKey), plexsim.WithTenant(*tenant),
		plexsim.WithOAuth(*clientID, *clientSecret),
		plexsim.WithBudget(*budget, *budgetWindow), plexsim.WithFaults(f))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	// The key is not logged: the sandbox's key may be a copy of a real one.
	log.Printf("plex-sandbox listening on http://%s", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// newSandbox builds the sandbox with opts and loads the seed file, if any.
func newSandbox(seedFile string, opts ...plexsim.Option) (*plexsim.Sandbox, error) {
	sb := plexsim.New(opts...)
	if seedFile == "" {
		return sb, nil
	}
	f, err := os.Open(seedFile)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer f.Close()
	sd, err := plexsim.ReadSeed(f)
	if err != nil {
		return nil, err
	}
	if err := sb.Load(sd); err != nil {
		return nil, err
	}
	return sb, nil
}
