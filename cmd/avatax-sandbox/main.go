// Command avatax-sandbox serves the local AvaTax REST v2 emulator.
//
//	avatax-sandbox [-addr 127.0.0.1:8086] [-account ID] [-license KEY] [-strict] [-companies A,B]
//	               [fault injection: -rate-limit N -rate-window D -429-rate P -retry-after D -error-rate P
//	                -after-effect-rate P -latency D -latency-jitter D -hang-rate P -hang-max D -seed N
//	                -force-timeout D]
//
// It taxes any US ZIP code (at its state's rate plus the state's average local
// rate where the sandbox has no detailed place) and any Canadian postal code
// (GST/HST and PST/QST of its province).
//
// Every flag can also be set with an environment variable: AVATAX_SANDBOX_
// followed by the flag name in upper case with "-" as "_" (for example
// AVATAX_SANDBOX_ERROR_RATE=0.05); a flag on the command line wins.
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
	"strings"
	"syscall"
	"time"

	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/money"
)

func main() {
	money.EncodeAmountsAsNumbers() // amounts are JSON numbers on the wire
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "avatax-sandbox:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8086", "listen address")
	account := flag.String("account", avataxsim.DefaultAccountID, "the account id the sandbox accepts")
	license := flag.String("license", avataxsim.DefaultLicenseKey, "the license key the sandbox accepts")
	strict := flag.Bool("strict", false, "only the -companies exist; other company codes get AvaTax's 404")
	companies := flag.String("companies", avataxsim.DefaultCompany, "comma-separated company codes (the first is the default company)")
	var f avataxsim.Faults
	flag.IntVar(&f.RateLimit, "rate-limit", 0, "requests per account per -rate-window before 429 (0 = unlimited)")
	flag.DurationVar(&f.RateWindow, "rate-window", time.Second, "window of -rate-limit")
	flag.Float64Var(&f.TooManyRequestsRate, "429-rate", 0, "share (0..1) of requests refused with 429")
	flag.DurationVar(&f.RetryAfter, "retry-after", 0, "Retry-After of a 429 (default: the rest of the window, at least 1s)")
	flag.Float64Var(&f.ErrorRate, "error-rate", 0, "share (0..1) of requests answered 500 or 503")
	flag.Float64Var(&f.AfterEffectRate, "after-effect-rate", 0, "share (0..1) of those 5xx sent after the request took effect")
	flag.DurationVar(&f.Latency, "latency", 0, "latency added to every request")
	flag.DurationVar(&f.LatencyJitter, "latency-jitter", 0, "extra uniform random latency, 0..this")
	flag.Float64Var(&f.HangRate, "hang-rate", 0, "share (0..1) of requests that never answer")
	flag.DurationVar(&f.HangMax, "hang-max", 2*time.Minute, "how long a hanging request is held before 504")
	flag.Uint64Var(&f.Seed, "seed", 0, "random seed of the fault injection (0 = from the clock)")
	forceTimeout := flag.Duration("force-timeout", 30*time.Second, "delay of $include=ForceTimeout before TimeoutRequested")
	if err := envDefaults(); err != nil {
		return err
	}
	flag.Parse()

	var codes []string
	for _, c := range strings.Split(*companies, ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	sb := avataxsim.New(avataxsim.WithCredentials(*account, *license), avataxsim.WithStrict(*strict),
		avataxsim.WithCompanies(codes...), avataxsim.WithFaults(f), avataxsim.WithForceTimeoutDelay(*forceTimeout))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // $include=ForceTimeout waits 30 s
		IdleTimeout:       120 * time.Second,
	}
	licenseNote := "(the documented default license key " + avataxsim.DefaultLicenseKey + ")"
	if *license != avataxsim.DefaultLicenseKey {
		licenseNote = "(license key from -license: " + mask(*license) + ")"
	}
	log.Printf("AvaTax sandbox listening on http://%s/api/v2/", ln.Addr())
	log.Printf("credentials: account id %s %s; companies %s; strict %v", *account, licenseNote, strings.Join(codes, ","), *strict)
	if f != (avataxsim.Faults{RateWindow: f.RateWindow, HangMax: f.HangMax}) {
		log.Printf("fault injection: %+v", f)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	log.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// envDefaults sets flags from AVATAX_SANDBOX_* environment variables before
// the command line is parsed, so that the command line wins.
func envDefaults() error {
	var err error
	flag.VisitAll(func(fl *flag.Flag) {
		name := "AVATAX_SANDBOX_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if strings.HasPrefix(fl.Name, "429") {
			name = "AVATAX_SANDBOX_TOO_MANY_REQUESTS_RATE"
		}
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fl.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

// mask shows only the last four characters of a secret.
func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}
