package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/circuit"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/testwait"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// outage makes AvaTax unreachable, every endpoint, while down is set.
type outage struct {
	next http.RoundTripper
	down atomic.Bool
}

func (o *outage) RoundTrip(r *http.Request) (*http.Response, error) {
	if o.down.Load() {
		return nil, errors.New("connection refused (simulated AvaTax outage)")
	}
	return o.next.RoundTrip(r)
}

// outageLength is how long TestAvaTaxOutageSpendsNoDelivery keeps AvaTax
// down: a few seconds in the suite, TAXBRIDGE_TEST_OUTAGE (e.g. 60s) for
// the long run. Either is far longer than the deliveries allow without
// the circuit (three, 0.5 s and 1 s apart).
func outageLength(t *testing.T) time.Duration {
	if v := os.Getenv("TAXBRIDGE_TEST_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TAXBRIDGE_TEST_OUTAGE: %v", err)
		}
		return d
	}
	return 5 * time.Second
}

// TestAvaTaxOutageSpendsNoDelivery: AvaTax goes away with orders in
// flight and more arriving; the worker stops taking events instead of
// spending their deliveries, and once AvaTax is back the backlog drains by
// itself: every order ends as it should, nothing dead-lettered.
func TestAvaTaxOutageSpendsNoDelivery(t *testing.T) {
	o := &outage{}
	h := workertest.Start(t, workertest.WithMaxDeliver(3),
		workertest.WithRetry(avatax.RetryPolicy{MaxAttempts: 1}),
		workertest.WithBreaker(circuit.New(circuit.WithFailures(2), circuit.WithPauses(100*time.Millisecond, 500*time.Millisecond))),
		workertest.WithTransport(func(next http.RoundTripper) http.RoundTripper { o.next = next; return o }))
	var flows []scenario.Flow
	for _, id := range []string{"OUT-1", "OUT-2", "OUT-3", "OUT-4", "OUT-5", "OUT-6"} {
		flows = append(flows, scenario.HomeDelivery(id))
	}
	// The first orders are paid before the outage, the others during it.
	for _, f := range flows[:3] {
		h.Publish(f.Events[0])
		h.Publish(f.Events[1])
		h.WaitApplied(f.OrderID, f.Events[1].ID)
	}
	o.down.Store(true)
	for _, f := range flows {
		for _, e := range f.Events {
			h.Publish(e)
		}
	}
	time.Sleep(outageLength(t))
	o.down.Store(false)
	for _, f := range flows {
		var ids []string
		for _, e := range f.Events {
			if e.Type.IsAction() {
				ids = append(ids, e.ID)
			}
		}
		rec := h.WaitApplied(f.OrderID, ids...)
		if rec.State != f.Final {
			t.Errorf("order %s: %s, want %s", f.OrderID, rec.State, f.Final)
		}
	}
	if dl := h.Messages(bus.DLQStream, bus.DLQPrefix+">"); len(dl) != 0 {
		t.Errorf("%d dead letters after an AvaTax outage", len(dl))
	}
}

// logs keeps the records a test's worker logs.
type logs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r)
	l.mu.Unlock()
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// errorsSaying counts the error records whose message or attributes say s.
func (l *logs) errorsSaying(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		text := r.Message
		r.Attrs(func(a slog.Attr) bool { text += " " + a.Value.String(); return true })
		if r.Level >= slog.LevelError && strings.Contains(text, s) {
			n++
		}
	}
	return n
}

// TestBadCredentialsTakeNoEvent: with credentials AvaTax refuses, the
// worker says so loudly at start and takes no event, so none is spent
// into the dead-letter stream while an operator fixes them.
func TestBadCredentialsTakeNoEvent(t *testing.T) {
	l := &logs{}
	h := workertest.Start(t, workertest.WithMaxDeliver(2), workertest.WithLicenseKey("not-the-key"), workertest.WithLogger(slog.New(l)),
		workertest.WithBreaker(circuit.New(circuit.WithPauses(100*time.Millisecond, 200*time.Millisecond))))
	f := scenario.HomeDelivery("CRED-1")
	for _, e := range f.Events {
		h.Publish(e)
	}
	testwait.Eventually(t, "a loud log record about the credentials", func() bool { return l.errorsSaying("credentials") > 0 })
	time.Sleep(2 * time.Second) // deliveries would be spent by now without the circuit
	info, err := h.Res.Consumer.Info(h.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != uint64(len(f.Events)) || info.Delivered.Consumer != 0 {
		t.Errorf("%d pending and %d delivered, want every event still waiting, none taken", info.NumPending, info.Delivered.Consumer)
	}
	if dl := h.Messages(bus.DLQStream, bus.DLQPrefix+">"); len(dl) != 0 {
		t.Errorf("%d dead letters with refused credentials", len(dl))
	}
	var results []events.ResultData = h.Results(f.OrderID)
	if len(results) != 0 {
		t.Errorf("%d results published without usable credentials", len(results))
	}
}
