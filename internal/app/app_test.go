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
		{"invalid tax configuration", map[string]string{"TAXBRIDGE_TAX_CONFIG": badTax},
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
