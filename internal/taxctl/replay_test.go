package taxctl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// ctl runs taxctl against the harness's in-process server.
func ctl(t *testing.T, js jetstream.JetStream, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, now: time.Now,
		dial: func() (jetstream.JetStream, func(), error) { return js, func() {}, nil }}
	code = c.run(context.Background(), args)
	t.Logf("taxctl %s → %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// mustCtl runs taxctl and fails the test unless it exits 0.
func mustCtl(t *testing.T, js jetstream.JetStream, args ...string) string {
	t.Helper()
	out, errOut, code := ctl(t, js, args...)
	if code != 0 {
		t.Fatalf("taxctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runInOrder publishes events one at a time, each once the previous one
// is applied.
func runInOrder(h *workertest.Harness, orderID string, evs ...events.Envelope) {
	for _, e := range evs {
		h.Publish(e)
		h.WaitApplied(orderID, e.ID)
	}
}

// dlqCount is the number of dead letters in the stream now.
func dlqCount(t *testing.T, h *workertest.Harness) uint64 {
	t.Helper()
	s, err := h.JS.Stream(h.Ctx, bus.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(h.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func listJSON(t *testing.T, h *workertest.Harness, args ...string) []DeadLetter {
	t.Helper()
	out := mustCtl(t, h.JS, append([]string{"dlq", "list", "-json"}, args...)...)
	var dls []DeadLetter
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var dl DeadLetter
		if err := dec.Decode(&dl); err != nil {
			t.Fatalf("dlq list -json: %v\n%s", err, out)
		}
		dls = append(dls, dl)
	}
	return dls
}

func wantContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// TestDeadLetterRepairedByReplay dead-letters an invalid refund through a
// running worker, lists and shows it, refuses to replay it as it is,
// replays a corrected payload from a file and sees it applied, the dead
// letter gone, and the order's record shown with its documents and history.
func TestDeadLetterRepairedByReplay(t *testing.T) {
	h := workertest.Start(t)
	f := scenario.Returned("DLQ-1")
	refund := f.Events[len(f.Events)-1]
	runInOrder(h, f.OrderID, f.Events[:len(f.Events)-1]...)

	good := mustJSON(t, refund)
	bad := bytes.Replace(good, []byte(`"return":`), []byte(`"no_return":`), 1)
	subject := bus.EventSubject(refund.Type, f.OrderID)
	h.PublishRaw(subject, bad, refund.ID)
	h.Eventually("the refund dead-lettered", func() bool { return dlqCount(t, h) == 1 })
	h.WaitIdle()

	// list: the table and everything in -json.
	out := mustCtl(t, h.JS, "dlq", "list")
	wantContains(t, "dlq list", out, "1 dead letter in TAXBRIDGE_DLQ", "SEQ", subject, refund.ID, "missing property 'return'")
	dls := listJSON(t, h)
	if len(dls) != 1 {
		t.Fatalf("dlq list -json: %d dead letters, want 1", len(dls))
	}
	dl := dls[0]
	if dl.OriginalSubject != subject || dl.Subject != bus.DLQPrefix+subject || dl.EventID != refund.ID ||
		dl.Type != string(events.RefundOrderTaxes) || dl.OrderID != f.OrderID || dl.Deliveries != 1 ||
		!strings.Contains(dl.Reason, "missing property 'return'") || dl.Time.IsZero() {
		t.Errorf("dlq list -json: %+v", dl)
	}
	if dl.Headers.Get(bus.HeaderValidationError) != dl.Reason || !bytes.Equal(dl.Payload, bad) {
		t.Errorf("dlq list -json lacks the headers or payload: %+v", dl)
	}
	seq := strconv.FormatUint(dl.Sequence, 10)
	if got := listJSON(t, h, "-order", f.OrderID); len(got) != 1 {
		t.Errorf("dlq list -order %s: %d dead letters, want 1", f.OrderID, len(got))
	}
	if got := listJSON(t, h, "-subject", "oms.*.OTHER"); len(got) != 0 {
		t.Errorf("dlq list -subject oms.*.OTHER: %d dead letters, want 0", len(got))
	}
	out = mustCtl(t, h.JS, "dlq", "list", "-subject", "oms.void_order_taxes.>")
	wantContains(t, "dlq list on another subject", out, "no dead letters in TAXBRIDGE_DLQ on taxbridge.dlq.oms.void_order_taxes.>")

	// show: headers, reason, payload pretty-printed.
	out = mustCtl(t, h.JS, "dlq", "show", seq)
	wantContains(t, "dlq show", out, "dead letter "+seq, "original subject", subject, "reason:\n  invalid refund_order_taxes event:",
		"Taxbridge-Deliveries: 1", "Taxbridge-Dead-Letter-Subject: "+subject, "payload (", "\n    \"no_return\": {\n", `"id": "`+refund.ID+`"`)

	// The payload as it is would be dead-lettered again: refused, kept.
	_, errOut, code := ctl(t, h.JS, "dlq", "replay", seq)
	if code != 1 || !strings.Contains(errOut, "dead letter "+seq+": the payload would be dead-lettered again") ||
		!strings.Contains(errOut, "-file") {
		t.Errorf("replay of the invalid payload: exit %d, %s", code, errOut)
	}
	fixed := filepath.Join(t.TempDir(), "refund.json")
	if err := os.WriteFile(fixed, good, 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustCtl(t, h.JS, "dlq", "replay", "-dry-run", "-file", fixed, seq)
	wantContains(t, "dry run", out, "would publish the -file payload", refund.ID+"/replay/"+seq+"/fixed-")
	if n := dlqCount(t, h); n != 1 {
		t.Errorf("%d dead letters after a dry run, want 1", n)
	}
	if h.Record(f.OrderID).HasSeen(refund.ID) {
		t.Fatal("the dead-lettered refund is marked seen before its replay")
	}

	// The corrected payload, flags after the sequence.
	out = mustCtl(t, h.JS, "dlq", "replay", seq, "-file", fixed)
	wantContains(t, "replay", out, "dead letter "+seq+": replayed to "+subject+" as "+refund.ID+"/replay/"+seq+"/fixed-",
		"deleted from TAXBRIDGE_DLQ")
	rec := h.WaitApplied(f.OrderID, refund.ID)
	if rec.State != lifecycle.CommittedRefund {
		t.Errorf("state after the replay: %s, want %s", rec.State, lifecycle.CommittedRefund)
	}
	var result *events.ResultData
	h.Eventually("the refund's tax_result", func() bool {
		for _, r := range h.Results(f.OrderID) {
			if r.CauseEventID == refund.ID {
				result = &r
				return true
			}
		}
		return false
	})
	if result.Document == nil || result.Document.Code != f.OrderID+"-R1" || result.State != string(lifecycle.CommittedRefund) {
		t.Errorf("tax_result of the replayed refund: %+v", result)
	}
	if n := dlqCount(t, h); n != 0 {
		t.Errorf("%d dead letters after the replay, want 0", n)
	}
	msgs := h.Messages(bus.EventsStream, subject)
	replayed := msgs[len(msgs)-1].Headers()
	if replayed.Get(HeaderReplayOf) != seq || replayed.Get(HeaderReplayOfMsgID) != refund.ID ||
		!strings.HasPrefix(replayed.Get(jetstream.MsgIDHeader), refund.ID+"/replay/"+seq+"/fixed-") {
		t.Errorf("headers of the replayed event: %v", replayed)
	}
	out = mustCtl(t, h.JS, "dlq", "list")
	wantContains(t, "dlq list after the replay", out, "no dead letters in TAXBRIDGE_DLQ")

	// The dead letter is gone: show and replay say so, and fail.
	for _, args := range [][]string{{"dlq", "show", seq}, {"dlq", "replay", seq}} {
		_, errOut, code := ctl(t, h.JS, args...)
		if code != 1 || !strings.Contains(errOut, "no dead letter "+seq+" in TAXBRIDGE_DLQ") {
			t.Errorf("taxctl %v: exit %d, %s", args, code, errOut)
		}
	}

	// order show: state, documents, history with the replayed refund.
	out = mustCtl(t, h.JS, "order", "show", f.OrderID)
	wantContains(t, "order show", out, "order DLQ-1: committed_refund",
		"order version  3", "sale    SalesInvoice   DLQ-1", "refund  ReturnInvoice  DLQ-1-R1", "Committed", "RET-1 (LIG-2)",
		"AvaTax call in flight: none", "history (3,", refund.ID, "committed → committed_refund", "refund_order_taxes", "refund")
	if strings.Contains(out, "returns not refunded") {
		t.Errorf("order show lists returns not refunded:\n%s", out)
	}
	var stored store.Record
	if err := json.Unmarshal([]byte(mustCtl(t, h.JS, "order", "show", "-json", f.OrderID)), &stored); err != nil {
		t.Fatalf("order show -json: %v", err)
	}
	if stored.OrderID != f.OrderID || stored.State != lifecycle.CommittedRefund || len(stored.Returns) != 1 || !stored.HasSeen(refund.ID) {
		t.Errorf("order show -json: %+v", stored)
	}
	_, errOut, code = ctl(t, h.JS, "order", "show", "NO-SUCH.ORDER")
	if code != 1 || !strings.Contains(errOut, `order "NO-SUCH.ORDER": no record of this order in bucket tax_orders (key NO-SUCH_2EORDER)`) {
		t.Errorf("order show of an unknown order: exit %d, %s", code, errOut)
	}
}

// faultyAvaTax answers 503 to every AvaTax request while on is set.
type faultyAvaTax struct {
	next http.RoundTripper
	on   *atomic.Bool
}

func (f faultyAvaTax) RoundTrip(r *http.Request) (*http.Response, error) {
	if !f.on.Load() {
		return f.next.RoundTrip(r)
	}
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
		Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"error":{"code":"ServiceUnavailable","message":"down for the test"}}`))}, nil
}

// TestReplayOfAnEventOutOfDeliveries dead-letters a valid commit whose
// AvaTax call kept failing, then replays it once AvaTax is back: the worker
// had never marked it seen, so the replay under the same CloudEvents id is
// applied. A second replay of the kept dead letter is dropped by the
// stream's duplicate window and deletes it.
func TestReplayOfAnEventOutOfDeliveries(t *testing.T) {
	var down atomic.Bool
	h := workertest.Start(t, workertest.WithMaxDeliver(1), workertest.WithRetry(avatax.RetryPolicy{MaxAttempts: 1}),
		workertest.WithTransport(func(next http.RoundTripper) http.RoundTripper { return faultyAvaTax{next: next, on: &down} }))
	f := scenario.HomeDelivery("EXH-1")
	commit := f.Events[len(f.Events)-1]
	runInOrder(h, f.OrderID, f.Events[:len(f.Events)-1]...)

	down.Store(true)
	h.Publish(commit)
	h.Eventually("the commit dead-lettered", func() bool { return dlqCount(t, h) == 1 })
	h.WaitIdle()
	down.Store(false)
	if rec := h.Record(f.OrderID); rec.HasSeen(commit.ID) || rec.State != lifecycle.Uncommitted {
		t.Fatalf("record after the dead letter: state %s, seen %v", rec.State, rec.Seen)
	}
	dls := listJSON(t, h, "-order", f.OrderID)
	if len(dls) != 1 || dls[0].EventID != commit.ID || !strings.Contains(dls[0].Reason, "gave up after 1 deliveries") {
		t.Fatalf("dead letters of %s: %+v", f.OrderID, dls)
	}
	seq := strconv.FormatUint(dls[0].Sequence, 10)

	out := mustCtl(t, h.JS, "dlq", "replay", "-keep", seq)
	wantContains(t, "replay -keep", out, "replayed to "+bus.EventSubject(commit.Type, f.OrderID)+" as "+commit.ID+"/replay/"+seq+" (stream OMS seq",
		"kept in TAXBRIDGE_DLQ (-keep)")
	rec := h.WaitApplied(f.OrderID, commit.ID)
	if rec.State != lifecycle.Committed {
		t.Errorf("state after the replay: %s, want committed", rec.State)
	}
	if n := dlqCount(t, h); n != 1 {
		t.Errorf("%d dead letters after replay -keep, want 1", n)
	}

	out = mustCtl(t, h.JS, "dlq", "replay", "-all", "-order", f.OrderID)
	wantContains(t, "second replay", out, "already replayed", "dropped as a duplicate", "deleted from TAXBRIDGE_DLQ")
	if n := dlqCount(t, h); n != 0 {
		t.Errorf("%d dead letters after replay -all, want 0", n)
	}
	h.WaitIdle()
	if c := h.Sandbox.Calls()["commit"]; c != 1 {
		t.Errorf("%d commits in the sandbox, want 1", c)
	}
	out = mustCtl(t, h.JS, "dlq", "replay", "-all")
	wantContains(t, "replay -all of nothing", out, "no dead letters to replay")
}
