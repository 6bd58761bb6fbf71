package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildTaxbridge compiles cmd/taxbridge once per test binary run.
func buildTaxbridge(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "taxbridge")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/taxbridge")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv drops TAXBRIDGE_* settings of the machine running the tests.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TAXBRIDGE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func TestBinaryDemoAndGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildTaxbridge(t)

	t.Run("demo", func(t *testing.T) {
		cmd := exec.Command(bin, "demo")
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("taxbridge demo: %v\n%s", err, out)
		}
		for _, want := range []string{"built-in AvaTax sandbox", "straight-fulfil", "home-delivery", "cancelled", "returned",
			"partial-cancel", "ReturnInvoice WEB-3-R1 Committed", "all 5 flows ended in their expected state",
			"Order Administration tax requests over NATS (tax.requests)",
			"QUOTE         order_entry → SalesOrder", "QUOTE         pick_slip   → SalesOrder",
			"INVOICE       billing     → SalesInvoice OA-7-1001-I501 committed",
			"CREDIT        billing     → ReturnInvoice OA-7-1001-C601 committed, tax -",
			"DISTRIBUTETAX billing     → SalesInvoice OA-7-1002-I502 committed", "2: 1.11 (override)",
			"all 5 Order Administration tax requests answered as expected"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("demo output lacks %q:\n%s", want, out)
			}
		}
		// The Order Administration answers are all [ok], in a short section.
		_, oa, found := strings.Cut(string(out), "== Order Administration")
		if !found {
			t.Fatalf("no Order Administration section:\n%s", out)
		}
		oa, px, found := strings.Cut(oa, "\n== Plex")
		if !found {
			t.Fatalf("no Plex section:\n%s", out)
		}
		answers := 0
		for _, l := range strings.Split(oa, "\n") {
			if strings.HasPrefix(l, "   order ") {
				answers++
				if !strings.HasSuffix(l, "[ok]") {
					t.Errorf("answer not [ok]: %s", l)
				}
			}
		}
		if answers != 5 {
			t.Errorf("%d answers, want 5:\n%s", answers, oa)
		}
		if n := strings.Count(oa, "\n"); n > 30 {
			t.Errorf("the Order Administration section is %d lines, want at most 30", n)
		}
		// Every Plex step ends ok; the tax is written back to Plex.
		for _, want := range []string{"sales order SO-1001 Closed", "SalesInvoice PLEX-SO-1001 Committed",
			`Plex price adjustment "AvaTax PLEX-SO-1001"`, "PurchaseInvoice PLEX-PO-4500", "written on line PO-4500-1 in Plex",
			"tax error invalid_address on /data/order/delivery/destination/address", "SalesInvoice PLEX-SO-1002 Saved",
			"all 6 Plex steps ended as expected"} {
			if !strings.Contains(px, want) {
				t.Errorf("the Plex section lacks %q:\n%s", want, px)
			}
		}
		if strings.Contains(px, "FAILED") {
			t.Errorf("a Plex step failed:\n%s", px)
		}
	})

	t.Run("demo ignores a NATS URL without AvaTax credentials", func(t *testing.T) {
		cmd := exec.Command(bin, "demo")
		cmd.Env = cleanEnv("TAXBRIDGE_NATS_URL=nats://127.0.0.1:1")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "all 5 flows ended in their expected state") {
			t.Fatalf("taxbridge demo: %v\n%s", err, out)
		}
	})

	t.Run("run refuses a NATS URL without AvaTax credentials", func(t *testing.T) {
		cmd := exec.Command(bin, "run")
		cmd.Env = cleanEnv("TAXBRIDGE_NATS_URL=nats://127.0.0.1:1", "TAXBRIDGE_HTTP_LISTEN=")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("taxbridge run: %v, want exit status 1\n%s", err, out)
		}
		for _, want := range []string{"TAXBRIDGE_NATS_URL is set", "TAXBRIDGE_AVATAX_ACCOUNT_ID", "TAXBRIDGE_AVATAX=sandbox"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("refusal does not say %q:\n%s", want, out)
			}
		}
	})

	t.Run("run then SIGTERM", func(t *testing.T) {
		cmd := exec.Command(bin)
		cmd.Env = cleanEnv("TAXBRIDGE_DATA_DIR="+t.TempDir(), "TAXBRIDGE_NATS_LISTEN=127.0.0.1:0", "TAXBRIDGE_HTTP_LISTEN=127.0.0.1:0")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		first := <-lines
		if !strings.Contains(first, "built-in AvaTax sandbox") || !strings.Contains(first, "embedded nats-server") {
			t.Errorf("first log line does not say what taxbridge runs against: %s", first)
		}
		waitFor(t, lines, "taxbridge running")
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, lines, "taxbridge stopped")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatal("taxbridge did not exit within 15s of SIGTERM")
		}
	})
}

func waitFor(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 15s", want)
		}
	}
}
