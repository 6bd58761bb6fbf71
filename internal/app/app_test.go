package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/config"
)

// TestFailedStartSaysWhy checks that a start that fails part way returns
// an error naming what failed, releases what it had acquired, and does not
// panic.
func TestFailedStartSaysWhy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	badTax := filepath.Join(t.TempDir(), "tax.yaml")
	if err := os.WriteFile(badTax, []byte("global: {taxes_included_in_price: no}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		// Fails before anything is acquired.
		{"invalid tax configuration", map[string]string{"TAXBRIDGE_TAX_CONFIG": badTax, "TAXBRIDGE_AVATAX": "sandbox"},
			[]string{badTax, "/global/taxes_included_in_price: got string, want boolean"}},
		// Fails with the embedded nats-server and the sandbox running.
		{"HTTP address in use", map[string]string{"TAXBRIDGE_HTTP_LISTEN": busy.Addr().String()},
			[]string{busy.Addr().String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TAXBRIDGE_DATA_DIR", t.TempDir())
			// The embedded server listens on a port of its own, so that a
			// server the failed start left running fails the second start.
			t.Setenv("TAXBRIDGE_NATS_LISTEN", freeAddr(t))
			t.Setenv("TAXBRIDGE_HTTP_LISTEN", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			a, err := start(t)
			if err == nil {
				a.Close()
				t.Fatal("started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			// What was acquired is released: a second start with a good
			// configuration, on the same port and data, works.
			t.Setenv("TAXBRIDGE_TAX_CONFIG", "")
			t.Setenv("TAXBRIDGE_HTTP_LISTEN", "")
			if a, err = start(t); err != nil {
				t.Fatalf("start after a failed one: %v", err)
			}
			a.Close()
		})
	}
}

// TestRefusesToInventTax checks that taxbridge given a NATS server or a
// tax configuration but no AvaTax credentials does not start on the
// built-in sandbox, and says what to set, unless TAXBRIDGE_AVATAX=sandbox
// asks for the sandbox. The refusal comes before anything starts: the NATS
// URL leads nowhere, and a start that waited for it would fail otherwise.
func TestRefusesToInventTax(t *testing.T) {
	goodTax := exampleTaxConfig(t)
	nowhere := "nats://" + freeAddr(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  config.Config // used when env is nil: a Config built in code
		want []string
	}{
		{name: "NATS URL", env: map[string]string{"TAXBRIDGE_NATS_URL": nowhere},
			want: []string{"TAXBRIDGE_NATS_URL is set", "TAXBRIDGE_AVATAX_ACCOUNT_ID", "TAXBRIDGE_AVATAX_LICENSE_KEY", "TAXBRIDGE_AVATAX=sandbox"}},
		{name: "tax configuration", env: map[string]string{"TAXBRIDGE_TAX_CONFIG": goodTax},
			want: []string{"TAXBRIDGE_TAX_CONFIG is set", "TAXBRIDGE_AVATAX_ACCOUNT_ID", "TAXBRIDGE_AVATAX=sandbox"}},
		{name: "Avalara asked for without credentials", env: map[string]string{"TAXBRIDGE_AVATAX": "avalara"},
			want: []string{"TAXBRIDGE_AVATAX=avalara needs AvaTax credentials"}},
		{name: "Config built in code", cfg: config.Config{NATSURL: nowhere, NATSConnectTimeout: time.Minute},
			want: []string{"TAXBRIDGE_NATS_URL is set", "TAXBRIDGE_AVATAX=sandbox"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TAXBRIDGE_DATA_DIR", t.TempDir())
			t.Setenv("TAXBRIDGE_NATS_LISTEN", "")
			t.Setenv("TAXBRIDGE_HTTP_LISTEN", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var err error
			if tc.env != nil {
				// As taxbridge run starts.
				var cfg *config.Config
				if cfg, err = config.Load(); err == nil {
					var a *App
					if a, err = Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
						a.Close()
					}
				}
			} else {
				var a *App
				if a, err = Start(context.Background(), &tc.cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
					a.Close()
				}
			}
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestSandboxAskedFor checks that TAXBRIDGE_AVATAX=sandbox starts taxbridge
// with a tax configuration and no AvaTax credentials on the built-in
// sandbox, and that its first log line says so.
func TestSandboxAskedFor(t *testing.T) {
	goodTax := exampleTaxConfig(t)
	t.Setenv("TAXBRIDGE_DATA_DIR", t.TempDir())
	t.Setenv("TAXBRIDGE_NATS_LISTEN", "")
	t.Setenv("TAXBRIDGE_HTTP_LISTEN", "")
	t.Setenv("TAXBRIDGE_TAX_CONFIG", goodTax)
	t.Setenv("TAXBRIDGE_AVATAX", "sandbox")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	a, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Sandbox == nil {
		t.Error("no built-in sandbox")
	}
	first, _, _ := strings.Cut(logs.String(), "\n")
	for _, w := range []string{"taxbridge starting", "built-in AvaTax sandbox", "TAXBRIDGE_AVATAX=sandbox", "invented"} {
		if !strings.Contains(first, w) {
			t.Errorf("first log line %q does not say %q", first, w)
		}
	}
}

// exampleTaxConfig writes the built-in example tax configuration to a file
// and returns its path.
func exampleTaxConfig(t *testing.T) string {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "taxconfig", "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tax.json")
	if err := os.WriteFile(path, example, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start starts taxbridge as configured by the environment.
func start(t *testing.T) (*App, error) {
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
