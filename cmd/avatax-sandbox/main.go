// Command avatax-sandbox serves the local AvaTax REST v2 emulator.
//
//	avatax-sandbox [-addr 127.0.0.1:8086] [-account ID] [-license KEY] [-strict] [-companies A,B]
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

	"github.com/taxbridge/taxbridge/internal/avatax/sandbox"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "avatax-sandbox:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8086", "listen address")
	account := flag.String("account", sandbox.DefaultAccountID, "the account id the sandbox accepts")
	license := flag.String("license", sandbox.DefaultLicenseKey, "the license key the sandbox accepts")
	strict := flag.Bool("strict", false, "only the -companies exist; other company codes get AvaTax's 404")
	companies := flag.String("companies", sandbox.DefaultCompany, "comma-separated company codes (the first is the default company)")
	flag.Parse()

	var codes []string
	for _, c := range strings.Split(*companies, ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	sb := sandbox.New(sandbox.Options{AccountID: *account, LicenseKey: *license, Strict: *strict, Companies: codes})

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
	licenseNote := "(the documented default license key " + sandbox.DefaultLicenseKey + ")"
	if *license != sandbox.DefaultLicenseKey {
		licenseNote = "(license key from -license: " + mask(*license) + ")"
	}
	log.Printf("AvaTax sandbox listening on http://%s/api/v2/", ln.Addr())
	log.Printf("credentials: account id %s %s; companies %s; strict %v", *account, licenseNote, strings.Join(codes, ","), *strict)

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

// mask shows only the last four characters of a secret.
func mask(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}
