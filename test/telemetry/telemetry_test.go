package telemetry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/taxctl"
)

// TestOneTraceFromPublishToResult follows the refresh that commits a home
// delivery: the OMS's send, taxbridge's process, the decision, the KV
// read and CAS write, the AvaTax call and its HTTP request, and the result
// publish are one trace.
func TestOneTraceFromPublishToResult(t *testing.T) {
	t.Parallel()
	h := start(t)
	f := scenario.HomeDelivery("TRACE-1")
	h.apply(f.Events...)
	commit := f.Events[len(f.Events)-1]
	if commit.Type != events.RefreshOrderTaxes {
		t.Fatalf("last event of the flow is %s, want the committing refresh", commit.Type)
	}
	if st := h.record(f.OrderID).State; st != lifecycle.Committed {
		t.Fatalf("order is %s, want committed", st)
	}
	h.eventually("result send span", func() bool {
		return len(find(h.spans.Ended(), trace.SpanKindProducer, "send tax.results", "messaging.message.id", commit.ID+"/commit")) > 0
	})

	proc := h.processSpan(commit.ID)
	tid := proc.SpanContext().TraceID()
	var inTrace []sdktrace.ReadOnlySpan
	for _, s := range h.spans.Ended() {
		if s.SpanContext().TraceID() == tid {
			inTrace = append(inTrace, s)
		}
	}
	one := func(kind trace.SpanKind, name string, kv ...string) sdktrace.ReadOnlySpan {
		t.Helper()
		got := find(inTrace, kind, name, kv...)
		if len(got) == 0 {
			t.Fatalf("trace %s has no %s span %q %v; it has:\n%s", tid, kind, name, kv, describe(inTrace))
		}
		return got[0]
	}
	send := one(trace.SpanKindProducer, "send oms.refresh_order_taxes", "messaging.message.id", commit.ID)

	// process: CONSUMER, child of the producer's send and linked to it.
	if proc.Parent().SpanID() != send.SpanContext().SpanID() || !proc.Parent().IsRemote() {
		t.Errorf("process span's parent = %v, want the remote send span %v", proc.Parent().SpanID(), send.SpanContext().SpanID())
	}
	if l := proc.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != send.SpanContext().SpanID() {
		t.Errorf("process span links = %v, want one link to the send span", l)
	}
	for k, want := range map[string]string{
		"messaging.system": "nats", "messaging.operation.type": "process", "messaging.operation.name": "process",
		"messaging.destination.name": bus.EventSubject(commit.Type, f.OrderID), "messaging.consumer.group.name": bus.WorkerName,
		"taxbridge.order.id": f.OrderID, "taxbridge.outcome": "applied", "messaging.nats.stream": bus.EventsStream,
	} {
		if got := attr(proc, k); got != want {
			t.Errorf("process span %s = %q, want %q", k, got, want)
		}
	}
	if proc.Name() != "process oms.refresh_order_taxes" || proc.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("process span: %s %s", proc.SpanKind(), proc.Name())
	}

	decide := one(trace.SpanKindInternal, "decide refresh_order_taxes",
		"taxbridge.state.from", "uncommitted", "taxbridge.state.to", "committed", "taxbridge.effect", "commit",
		"taxbridge.order.id", f.OrderID, "taxbridge.action", "refresh_order_taxes")
	childOf(t, decide, proc)
	childOf(t, one(trace.SpanKindClient, "kv get tax_orders", "nats.kv.key", f.OrderID), proc)
	childOf(t, one(trace.SpanKindClient, "kv cas tax_orders", "nats.kv.key", f.OrderID, "nats.kv.operation", "update"), proc)

	call := one(trace.SpanKindInternal, "avatax commit", "avatax.document_code", f.OrderID)
	descends(t, call, proc, inTrace)
	httpSpan := one(trace.SpanKindClient, "POST /api/v2/companies/{companyCode}/transactions/{transactionCode}/commit")
	childOf(t, httpSpan, call)
	if got := attr(httpSpan, "http.response.status_code"); got != "200" {
		t.Errorf("HTTP span status code = %q, want 200", got)
	}

	result := one(trace.SpanKindProducer, "send tax.results", "messaging.message.id", commit.ID+"/commit",
		"messaging.destination.name", bus.ResultSubject(f.OrderID), "messaging.system", "nats")
	descends(t, result, proc, inTrace)

	// On the wire: lower-case W3C keys, and the result carries the trace on.
	in := lastMsg(t, h, bus.EventsStream, bus.EventSubject(commit.Type, f.OrderID))
	checkTraceparent(t, in, send.SpanContext())
	out := lastMsg(t, h, bus.ResultsStream, bus.ResultSubject(f.OrderID))
	checkTraceparent(t, out, result.SpanContext())
}

// find returns the spans of kind and name whose attributes have the
// key/value pairs kv.
func find(spans []sdktrace.ReadOnlySpan, kind trace.SpanKind, name string, kv ...string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
next:
	for _, s := range spans {
		if s.SpanKind() != kind || s.Name() != name {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if attr(s, kv[i]) != kv[i+1] {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

func describe(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString("  " + s.SpanKind().String() + " " + s.Name() + "\n")
	}
	return b.String()
}

func childOf(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("span %q is not a child of %q", child.Name(), parent.Name())
	}
}

// descends checks that span has ancestor among its ancestors in spans.
func descends(t *testing.T, span, ancestor sdktrace.ReadOnlySpan, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	for s := span; s != nil; s = byID[s.Parent().SpanID()] {
		if s.Parent().SpanID() == ancestor.SpanContext().SpanID() {
			return
		}
	}
	t.Errorf("span %q does not descend from %q", span.Name(), ancestor.Name())
}

func lastMsg(t *testing.T, h *harness, stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := h.app.JS.Stream(h.ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(h.ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkTraceparent(t *testing.T, m *jetstream.RawStreamMsg, sc trace.SpanContext) {
	t.Helper()
	v := m.Header["traceparent"]
	if len(v) != 1 {
		t.Fatalf("message on %s has no lower-case traceparent header: %v", m.Subject, m.Header)
	}
	if _, ok := m.Header["Traceparent"]; ok {
		t.Errorf("message on %s has a canonical-case Traceparent header", m.Subject)
	}
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if v[0] != want {
		t.Errorf("traceparent on %s = %s, want %s (the send span)", m.Subject, v[0], want)
	}
}

// TestMetricsHealthAndReadiness drives every outcome and reads the
// metrics in the Prometheus format on the HTTP listener.
func TestMetricsHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := start(t)
	if code, body := h.get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	code, body := h.get("/readyz")
	if code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"nats", "streams", "avatax_sandbox"} {
		if ready.Checks[c] != "ok" {
			t.Errorf("/readyz check %s = %q: %s", c, ready.Checks[c], body)
		}
	}

	// applied, and a state transition none → committed.
	f := scenario.StraightFulfil("MET-1")
	h.apply(f.Events...)
	refresh := f.Events[len(f.Events)-1]
	// duplicate: the same event again under another message id.
	if _, err := h.app.JS.Publish(h.ctx, bus.EventSubject(refresh.Type, f.OrderID), mustJSON(t, refresh),
		jetstream.WithMsgID(refresh.ID+"-again")); err != nil {
		t.Fatal(err)
	}
	// refused: a void after commit.
	h.apply(withType(t, refresh, events.VoidOrderTaxes, f.OrderID+"-void", 2))
	// dead_lettered: an invalid event.
	if _, err := h.app.JS.Publish(h.ctx, "oms.refresh_order_taxes.BAD-1", []byte(`{"specversion":"1.0"}`),
		jetstream.WithMsgID("BAD-1")); err != nil {
		t.Fatal(err)
	}
	// retried and redelivered: AvaTax fails every request for a while.
	h.app.Sandbox.SetFaults(avataxsim.Faults{ErrorRate: 1})
	g := scenario.StraightFulfil("MET-2")
	h.publish(g.Events[0])
	h.publish(g.Events[1])
	h.eventually("a retried event", func() bool {
		_, m := h.get("/metrics")
		return hasSample(m, "taxbridge_events_total", `outcome="retried"`)
	})
	h.app.Sandbox.SetFaults(avataxsim.Faults{})
	h.eventually("MET-2 committed after the outage", func() bool { return h.record(g.OrderID).State == lifecycle.Committed })

	h.eventually("every outcome counted", func() bool {
		_, m := h.get("/metrics")
		return hasSample(m, "taxbridge_events_total", `outcome="duplicate"`) &&
			hasSample(m, "taxbridge_events_total", `outcome="dead_lettered"`) &&
			hasSample(m, "taxbridge_redeliveries_total", `event_type="refresh_order_taxes"`)
	})
	_, m := h.get("/metrics")
	for _, want := range [][]string{
		{"taxbridge_events_total", `event_type="refresh_order_taxes"`, `outcome="applied"`},
		{"taxbridge_events_total", `event_type="order_state_changed"`, `outcome="applied"`},
		{"taxbridge_events_total", `event_type="refresh_order_taxes"`, `outcome="duplicate"`},
		{"taxbridge_events_total", `event_type="void_order_taxes"`, `outcome="refused"`},
		{"taxbridge_events_total", `event_type="refresh_order_taxes"`, `outcome="dead_lettered"`},
		{"taxbridge_events_total", `event_type="refresh_order_taxes"`, `outcome="retried"`},
		{"taxbridge_event_duration_seconds_bucket", `event_type="refresh_order_taxes"`, `outcome="applied"`},
		{"taxbridge_state_transitions_total", `from="none"`, `to="committed"`},
		{"taxbridge_dead_letters_total", `reason="invalid"`},
		{"taxbridge_redeliveries_total", `event_type="refresh_order_taxes"`},
		{"taxbridge_avatax_calls_total", `endpoint="createoradjust"`, `status="201"`},
		{"taxbridge_avatax_calls_total", `endpoint="createoradjust"`, `status="50`},
		{"taxbridge_avatax_duration_seconds_bucket", `endpoint="createoradjust"`},
		{"target_info", `service_name="taxbridge"`, `service_version="test"`},
	} {
		if !hasSample(m, want[0], want[1:]...) {
			t.Errorf("/metrics has no %s with %v", want[0], want[1:])
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grep(m, "taxbridge_"))
	}
}

func hasSample(metrics, name string, labels ...string) bool {
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			return true
		}
	}
	return false
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withType is e as an event of another type and id, at a newer version.
func withType(t *testing.T, e events.Envelope, typ events.Type, id string, version int64) events.Envelope {
	t.Helper()
	var d events.OrderEvent
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	d.OrderVersion = version
	out, err := events.New(id, e.Source, typ, e.Subject, e.Time.Add(time.Minute), d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTaxctlAuditShowsAnOrdersExchanges runs `taxctl audit` against the
// embedded server after a flow.
func TestTaxctlAuditShowsAnOrdersExchanges(t *testing.T) {
	t.Parallel()
	h := start(t)
	f := scenario.Returned("AUD-1")
	h.apply(f.Events...)
	env := func(k string) string {
		if k == "TAXBRIDGE_NATS_URL" {
			return h.app.NATSURL()
		}
		return ""
	}

	var out, errOut bytes.Buffer
	if code := taxctl.Run(context.Background(), []string{"audit", f.OrderID}, env, &out, &errOut); code != 0 {
		t.Fatalf("taxctl audit: exit %d: %s", code, errOut.String())
	}
	text := out.String()
	t.Logf("taxctl audit %s:\n%s", f.OrderID, text)

	var js bytes.Buffer
	if code := taxctl.Run(context.Background(), []string{"audit", "-json", f.OrderID}, env, &js, &errOut); code != 0 {
		t.Fatalf("taxctl audit -json: exit %d: %s", code, errOut.String())
	}
	var recs []audit.Entry
	for _, line := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var e audit.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		recs = append(recs, e)
	}
	// The flow's document calls, in order: create, commit, refund.
	var ops []string
	for _, r := range recs {
		if r.Operation != "resolve" && r.Operation != "get" {
			ops = append(ops, r.Operation+" "+r.DocumentCode)
		}
	}
	want := []string{"createoradjust AUD-1", "commit AUD-1", "createoradjust AUD-1-R1"}
	if strings.Join(ops, ", ") != strings.Join(want, ", ") {
		// A refund may go through the refund endpoint instead.
		want[2] = "refund AUD-1-R1"
		if strings.Join(ops, ", ") != strings.Join(want, ", ") {
			t.Errorf("audited document calls = %v, want create, commit and refund of AUD-1", ops)
		}
	}
	for i, r := range recs {
		if i > 0 && r.Sequence <= recs[i-1].Sequence {
			t.Errorf("records out of order: %d after %d", r.Sequence, recs[i-1].Sequence)
		}
		if r.OrderID != f.OrderID || r.EventID == "" || len(r.TraceID) != 32 || r.Response == nil || r.RoundTripMS <= 0 {
			t.Errorf("record %d incomplete: %+v", i, r.Record)
		}
		for k := range r.Request.Headers {
			if strings.EqualFold(k, "Authorization") {
				t.Errorf("record %d keeps the Authorization header", i)
			}
		}
		if !strings.Contains(text, r.EventID) || !strings.Contains(text, r.TraceID) {
			t.Errorf("taxctl output lacks event %s or trace %s", r.EventID, r.TraceID)
		}
		// The trace id is the one of the event's process span.
		if p := h.processSpan(r.EventID); p != nil && p.SpanContext().TraceID().String() != r.TraceID {
			t.Errorf("record %d trace %s, want the process span's %s", i, r.TraceID, p.SpanContext().TraceID())
		}
	}
	commit := recs[0]
	for _, r := range recs {
		if r.Operation == "commit" {
			commit = r
		}
	}
	if commit.Response.Status != 200 || !strings.Contains(string(commit.Response.Body), `"Committed"`) {
		t.Errorf("commit record: %d %s", commit.Response.Status, commit.Response.Body)
	}
	for _, w := range []string{"createoradjust", "commit", "POST /api/v2/transactions/createoradjust", "AUD-1-R1", "200"} {
		if !strings.Contains(text, w) {
			t.Errorf("taxctl audit output lacks %q", w)
		}
	}

	var bodies bytes.Buffer
	if code := taxctl.Run(context.Background(), []string{"audit", "-bodies", f.OrderID}, env, &bodies, &errOut); code != 0 {
		t.Fatalf("taxctl audit -bodies: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(bodies.String(), `"createTransactionModel"`) || !strings.Contains(bodies.String(), "X-Avalara-Client") {
		t.Errorf("taxctl audit -bodies shows no request body or headers:\n%s", bodies.String())
	}
	out.Reset()
	if code := taxctl.Run(context.Background(), []string{"audit", "NO-SUCH-ORDER"}, env, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "no AvaTax exchanges recorded") {
		t.Errorf("taxctl audit of an unknown order: %d %s", code, out.String())
	}
	if code := taxctl.Run(context.Background(), []string{"audit"}, env, &out, &errOut); code != 2 {
		t.Errorf("taxctl audit without an order: exit %d, want 2", code)
	}
}

// TestLicenseKeyAppearsNowhere runs flows through successes, AvaTax
// refusals, rate limiting and server errors, then looks for the license
// key and the Basic token in every span, log line, audit record and
// metric.
func TestLicenseKeyAppearsNowhere(t *testing.T) {
	t.Parallel()
	h := start(t)
	key := avataxsim.DefaultLicenseKey
	token := base64.StdEncoding.EncodeToString([]byte(avataxsim.DefaultAccountID + ":" + key))

	h.app.Sandbox.SetFaults(avataxsim.Faults{TooManyRequestsRate: 0.3, ErrorRate: 0.2, RetryAfter: -1})
	for _, f := range scenario.OneStock("KEY-") {
		h.apply(f.Events...)
	}
	h.app.Sandbox.SetFaults(avataxsim.Faults{})
	// A refused void, published as a tax error.
	f := scenario.StraightFulfil("KEY-OIS-2")
	h.apply(f.Events...)
	h.apply(withType(t, f.Events[len(f.Events)-1], events.VoidOrderTaxes, "KEY-OIS-2-void", 2))

	var haystacks []string
	for _, s := range h.spans.Ended() {
		var b strings.Builder
		b.WriteString(s.Name() + " " + s.Status().Description)
		for _, kv := range s.Attributes() {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
		}
		for _, e := range s.Events() {
			b.WriteString(" " + e.Name)
			for _, kv := range e.Attributes {
				b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
			}
		}
		haystacks = append(haystacks, "span: "+b.String())
	}
	if len(haystacks) < 50 {
		t.Fatalf("only %d spans recorded", len(haystacks))
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"trace_id"`) {
		t.Errorf("no log line carries a trace_id:\n%s", logs)
	}
	haystacks = append(haystacks, "logs: "+logs)

	auditMsgs := 0
	cons, err := h.app.JS.OrderedConsumer(h.ctx, bus.AuditStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(int(info.NumPending), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		auditMsgs++
		hb, _ := json.Marshal(m.Headers())
		haystacks = append(haystacks, "audit "+m.Subject()+": "+string(m.Data())+" "+string(hb))
	}
	if auditMsgs < 15 {
		t.Fatalf("only %d audit records", auditMsgs)
	}
	_, metrics := h.get("/metrics")
	haystacks = append(haystacks, "metrics: "+metrics)

	for _, s := range haystacks {
		for _, secret := range []string{key, token, "Basic "} {
			if strings.Contains(s, secret) {
				i := strings.Index(s, secret)
				t.Errorf("%q found in %s", secret, s[max(0, i-200):min(len(s), i+100)])
			}
		}
	}
	if !strings.Contains(logs, "retrying AvaTax call") && !strings.Contains(logs, "event will be retried") {
		t.Logf("no retry happened in this run (faults are random); the test still checked the other paths")
	}
}
