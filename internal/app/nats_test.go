package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/demo"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/testwait"
)

// TestWaitsForNATS starts taxbridge before its NATS server: it must stay
// up, alive but not ready, until the server comes, then start and process.
func TestWaitsForNATS(t *testing.T) {
	port := freePort(t)
	logs := &records{}
	cfg := remoteConfig(t, "nats://127.0.0.1:"+strconv.Itoa(port), "0")
	type started struct {
		a   *app.App
		err error
	}
	done := make(chan started, 1)
	// Ends the wait should the test fail before the server starts.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		a, err := app.Start(ctx, cfg, slog.New(logs))
		done <- started{a, err}
	}()

	base := "http://" + cfg.HTTPListen
	deadline := time.After(testwait.Timeout)
	for waiting := false; !waiting; {
		select {
		case s := <-done:
			t.Fatalf("Start returned while NATS was unreachable: %v", s.err)
		case <-deadline:
			t.Fatal("/readyz never said what taxbridge waits for")
		case <-time.After(20 * time.Millisecond):
		}
		code, body := get(base + "/readyz")
		waiting = code == http.StatusServiceUnavailable &&
			strings.Contains(body, "waiting for NATS at nats://127.0.0.1:"+strconv.Itoa(port)+": attempt ")
		if waiting {
			if code, body := get(base + "/healthz"); code != http.StatusOK {
				t.Fatalf("/healthz while waiting for NATS: %d %s", code, body)
			}
		}
	}
	if n := logs.count("NATS not usable yet", "retry_in"); n == 0 {
		t.Errorf("no failed attempt logged with its next delay:\n%s", logs)
	}

	startServer(t, port, t.TempDir())
	var s started
	select {
	case s = <-done:
	case <-time.After(8 * time.Second):
		t.Fatal("taxbridge did not start within 8s of its NATS server")
	}
	if s.err != nil {
		t.Fatalf("start once NATS is up: %v", s.err)
	}
	run(t, s.a)
	testwait.Eventually(t, "/readyz 200", func() bool {
		code, _ := get(base + "/readyz")
		return code == http.StatusOK
	})
	process(t, s.a, "WAIT-1")
}

// TestGivesUpOnNATS checks that a start gives up on an unreachable NATS
// after TAXBRIDGE_NATS_CONNECT_TIMEOUT, with an error naming the URL and
// not its password, and releases the HTTP listener.
func TestGivesUpOnNATS(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	logs := &records{}
	cfg := remoteConfig(t, "nats://taxbridge:s3cret@127.0.0.1:"+port, "1500ms")
	began := time.Now()
	a, err := app.Start(context.Background(), cfg, slog.New(logs))
	took := time.Since(began)
	if err == nil {
		a.Close()
		t.Fatal("started without NATS")
	}
	for _, want := range []string{"nats://taxbridge:xxxxx@127.0.0.1:" + port, "TAXBRIDGE_NATS_CONNECT_TIMEOUT", "no servers available"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error()+logs.String(), "s3cret") {
		t.Errorf("the password shows in the error or the logs: %v\n%s", err, logs)
	}
	if took < 1500*time.Millisecond || took > 5*time.Second {
		t.Errorf("gave up after %s, want about 1.5s", took)
	}
	if c, err := net.Dial("tcp", cfg.HTTPListen); err == nil {
		c.Close()
		t.Error("HTTP listener still open after the failed start")
	}
}

// TestRefusalEndsTheWait checks that an answer waiting cannot change ends
// the wait at once: three replicas asked of a single server.
func TestRefusalEndsTheWait(t *testing.T) {
	port := freePort(t)
	startServer(t, port, t.TempDir())
	cfg := remoteConfig(t, "nats://127.0.0.1:"+strconv.Itoa(port), "15s")
	cfg.NATSReplicas = 3
	began := time.Now()
	a, err := app.Start(context.Background(), cfg, slog.New(&records{}))
	if err == nil {
		a.Close()
		t.Fatal("three replicas provisioned on one server")
	}
	if !strings.Contains(err.Error(), "nats://127.0.0.1:"+strconv.Itoa(port)) || !strings.Contains(err.Error(), "replicas") {
		t.Errorf("error %q does not name the URL and the replicas", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("gave up after %s, want at once", took)
	}
}

// TestNATSRestartIsLoggedOnce restarts the nats-server under a running
// taxbridge: one record says the connection is lost, one that it is back,
// and events are processed again.
func TestNATSRestartIsLoggedOnce(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	logs := &records{}
	cfg := remoteConfig(t, "nats://127.0.0.1:"+strconv.Itoa(port), "10s")
	a, err := app.Start(context.Background(), cfg, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, a)
	process(t, a, "RESTART-1")

	srv.Shutdown()
	srv.WaitForShutdown()
	testwait.Eventually(t, "the connection to notice", func() bool { return a.NC.Status() != nats.CONNECTED })
	startServer(t, port, dir)
	testwait.Eventually(t, "the connection back", func() bool { return a.NC.Status() == nats.CONNECTED })
	process(t, a, "RESTART-2")

	if n := logs.count("NATS connection lost; reconnecting", "err"); n != 1 {
		t.Errorf("%d disconnection records with their error, want 1:\n%s", n, logs)
	}
	if n := logs.count("NATS reconnected", "down_for"); n != 1 {
		t.Errorf("%d reconnection records with the time down, want 1:\n%s", n, logs)
	}
	if n := logs.count("NATS reconnected", "url"); n != 1 {
		t.Errorf("%d reconnection records with the URL, want 1:\n%s", n, logs)
	}
	// Every consume context sees the restart; the worker must not warn for each.
	if n := logs.warnings("consume"); n != 0 {
		t.Errorf("%d consume warnings during the restart, want 0 (the connection's records say it):\n%s", n, logs)
	}
	stop() // before the second server's cleanup stops it
}

// remoteConfig is the default configuration against the NATS server at
// url, waiting for it at most wait, with an HTTP listener of its own and
// the built-in AvaTax sandbox (asked for: a NATS URL without AvaTax
// credentials is refused otherwise).
func remoteConfig(t *testing.T, url, wait string) *config.Config {
	t.Helper()
	t.Setenv("TAXBRIDGE_AVATAX", "sandbox")
	t.Setenv("TAXBRIDGE_NATS_URL", url)
	t.Setenv("TAXBRIDGE_NATS_CONNECT_TIMEOUT", wait)
	t.Setenv("TAXBRIDGE_HTTP_LISTEN", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// run runs the worker until stop is called or the test ends, then closes
// taxbridge.
func run(t *testing.T, a *app.App) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			a.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// process takes an order through the straight-fulfil flow.
func process(t *testing.T, a *app.App, orderID string) {
	t.Helper()
	if _, err := demo.Run(context.Background(), a, []scenario.Flow{scenario.StraightFulfil(orderID)}, io.Discard, 5*time.Second); err != nil {
		t.Fatalf("order %s: %v", orderID, err)
	}
}

// startServer runs a nats-server with JetStream on port, storing in dir,
// until the test ends.
func startServer(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// freePort is a loopback port no one listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// records is a slog.Handler that keeps every record, for counting.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// WithAttrs and WithGroup drop what they are given: the tests count
// records by message and attributes of their own.
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// count is the number of records with message msg that carry attribute
// attr (any, when attr is empty).
func (r *records) count(msg, attr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		found := attr == ""
		rec.Attrs(func(a slog.Attr) bool {
			found = found || a.Key == attr
			return !found
		})
		if found {
			n++
		}
	}
	return n
}

// warnings is the number of records with message msg at level warn or
// above.
func (r *records) warnings(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Message == msg && rec.Level >= slog.LevelWarn {
			n++
		}
	}
	return n
}

func (r *records) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.recs {
		fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
		rec.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		b.WriteByte('\n')
	}
	return b.String()
}
