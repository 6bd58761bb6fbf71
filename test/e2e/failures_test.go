package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

func TestInvalidEventsAreDeadLetteredNotRetried(t *testing.T) {
	h := start(t)
	f := scenario.Returned("BAD-1")
	refund := f.Events[len(f.Events)-1]
	noReturn := strings.Replace(string(mustJSON(t, refund)), `"return":`, `"no_return":`, 1)
	tests := []struct {
		name, subject, payload, reason string
	}{
		{"schema", bus.EventSubject(events.RefundOrderTaxes, "BAD-1"), noReturn, "/data: missing property 'return'"},
		{"not json", bus.EventSubject(events.OrderStateChanged, "BAD-2"), "{oops", "not a JSON object"},
		{"unknown type", bus.EventSubject("order_created", "BAD-3"), `{"type":"order_created"}`, `unknown event type "order_created"`},
	}
	for i, tt := range tests {
		h.PublishRaw(tt.subject, []byte(tt.payload), "bad-"+string(rune('a'+i)))
	}
	h.WaitIdle()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := h.Messages(bus.DLQStream, bus.DLQPrefix+tt.subject)
			if len(msgs) != 1 {
				t.Fatalf("%d dead letters on %s, want 1", len(msgs), bus.DLQPrefix+tt.subject)
			}
			m := msgs[0]
			if got := m.Headers().Get(bus.HeaderValidationError); !strings.Contains(got, tt.reason) {
				t.Errorf("reason header %q, want it to mention %q", got, tt.reason)
			}
			if !bytes.Equal(m.Data(), []byte(tt.payload)) {
				t.Errorf("payload changed: %q", m.Data())
			}
			if got := m.Headers().Get(bus.HeaderDeliveries); got != "1" {
				t.Errorf("dead-lettered after %s deliveries, want 1: invalid events are never retried", got)
			}
		})
	}
	info, err := h.Res.Consumer.Info(h.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 {
		t.Errorf("%d redeliveries of invalid events", info.NumRedelivered)
	}
}

func TestRefusedActionPublishesTaxErrorAndKeepsState(t *testing.T) {
	h := start(t)
	f := scenario.HomeDelivery("WEB-9")
	runInOrder(h, f)
	void := f.Events[len(f.Events)-1]
	void.ID, void.Type = "WEB-9-void", events.VoidOrderTaxes
	h.Publish(void)
	rec := h.WaitApplied(f.OrderID, void.ID)
	if rec.State != lifecycle.Committed {
		t.Fatalf("state %s after a refused void, want committed", rec.State)
	}
	errs := h.TaxErrors(f.OrderID)
	if len(errs) != 1 || errs[0].Code != lifecycle.RefusedVoidCommitted || errs[0].CauseEventID != void.ID {
		t.Fatalf("tax errors %+v, want one %s caused by %s", errs, lifecycle.RefusedVoidCommitted, void.ID)
	}
	if !strings.Contains(errs[0].Message, "refund_order_taxes") {
		t.Errorf("message %q does not say what to do", errs[0].Message)
	}
	if d, _ := h.Sandbox.Document(h.Company, f.OrderID, avatax.SalesInvoice); d.Status != avatax.StatusCommitted {
		t.Errorf("document %s after a refused void", d.Status)
	}
}

// A refresh with data AvaTax rejects publishes a tax error naming the
// problem and the field; the next event with corrected data goes through
// without anyone replaying anything.
func TestBadDataThenCorrectedEvent(t *testing.T) {
	tests := []struct {
		name      string
		spoil     func(o *events.Order)
		code      string
		field     string
		avataxErr bool
	}{
		{"address AvaTax cannot resolve", func(o *events.Order) { o.Delivery.Destination.Address.ZipCode = "00000" },
			"invalid_address", "/data/order/delivery/destination/address", false},
		{"tax code AvaTax refuses", func(o *events.Order) {
			o.OrderItems[0].Features = map[string]map[string]string{"en": {"tax_code": strings.Repeat("P", 30)}}
		}, "avatax_data_error", "", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t)
			f := scenario.HomeDelivery(fmt.Sprintf("WEB-7%d", i))
			paid := f.Events[:2]
			var bad events.Envelope
			for _, e := range paid {
				bad = withOrder(t, e, tt.spoil)
				h.Publish(bad)
			}
			rec := h.WaitApplied(f.OrderID, bad.ID)
			if rec.State != lifecycle.None {
				t.Fatalf("state %s after bad data, want none", rec.State)
			}
			errs := h.TaxErrors(f.OrderID)
			if len(errs) != 1 || errs[0].Code != tt.code || errs[0].Field != tt.field || (errs[0].AvaTaxCode != "") != tt.avataxErr {
				t.Fatalf("tax errors %+v, want one %s on field %q", errs, tt.code, tt.field)
			}
			if h.AvaTaxCalls() != 0 && tt.code == "invalid_address" {
				t.Errorf("%d AvaTax document calls for an address that does not resolve", h.AvaTaxCalls())
			}
			// The OMS corrects the order: a newer snapshot and a new refresh.
			fixed := withVersion(t, paid[1], 5)
			fixed.ID = f.OrderID + "-fixed"
			h.Publish(fixed)
			rec = h.WaitApplied(f.OrderID, fixed.ID)
			if rec.State != lifecycle.Uncommitted {
				t.Fatalf("state %s after the corrected refresh, want uncommitted", rec.State)
			}
		})
	}
}

// dropAnswers forwards requests to AvaTax but loses the first answer of each
// path, as when a connection breaks after the server acted.
type dropAnswers struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
}

func (d *dropAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost {
		return resp, err
	}
	d.mu.Lock()
	first := !d.seen[r.URL.Path]
	d.seen[r.URL.Path] = true
	d.mu.Unlock()
	if first {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (answer lost)")
	}
	return resp, nil
}

// TestLostAnswersDoNotDuplicateDocuments loses the first answer of every
// kind of AvaTax call. The worker must find out what happened instead of
// repeating it: exactly one refund, the same documents as without faults.
func TestLostAnswersDoNotDuplicateDocuments(t *testing.T) {
	f := scenario.Returned("WEB-5")
	ref := start(t)
	runInOrder(ref, f)
	want := outcomeOf(ref, f.OrderID)

	h := start(t, workertest.WithLease(300*time.Millisecond), workertest.WithTransport(func(rt http.RoundTripper) http.RoundTripper {
		return &dropAnswers{next: rt, seen: map[string]bool{}}
	}))
	runInOrder(h, f)
	got := outcomeOf(h, f.OrderID)
	if got.state != want.state || strings.Join(got.docs, "|") != strings.Join(want.docs, "|") {
		t.Fatalf("outcome %+v, want %+v", got, want)
	}
	if n := countType(h, avatax.ReturnInvoice); n != 1 {
		t.Errorf("%d ReturnInvoices, want one", n)
	}
	if n := len(h.Results(f.OrderID)); n != f.Calls {
		t.Errorf("%d results, want one per effect (%d)", n, f.Calls)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := jsonOf(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withOrder returns a copy of the event with its order snapshot changed.
func withOrder(t *testing.T, e events.Envelope, f func(*events.Order)) events.Envelope {
	t.Helper()
	var d events.OrderEvent
	if err := decode(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	f(&d.Order)
	e.Data = mustJSON(t, d)
	e.ID += "-edited"
	return e
}

func withVersion(t *testing.T, e events.Envelope, v int64) events.Envelope {
	t.Helper()
	var d events.OrderEvent
	if err := decode(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	d.OrderVersion = v
	e.Data = mustJSON(t, d)
	return e
}

func countType(h *workertest.Harness, docType string) int {
	n := 0
	for _, d := range h.Sandbox.Documents(h.Company) {
		if d.Type == docType {
			n++
		}
	}
	return n
}
