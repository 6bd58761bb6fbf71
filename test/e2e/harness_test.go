// Package e2e runs taxbridge end to end: a real nats-server with JetStream
// (in-process), the AvaTax sandbox over real HTTP, and the worker, driven
// only through NATS subjects.
package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avatax/sandbox"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
	"github.com/taxbridge/taxbridge/internal/testwait"
	"github.com/taxbridge/taxbridge/internal/worker"
)

// harness is one taxbridge with its own NATS server and AvaTax sandbox.
type harness struct {
	t       *testing.T
	ctx     context.Context
	nc      *nats.Conn
	js      jetstream.JetStream
	res     *bus.Resources
	store   *store.Store
	sandbox *sandbox.Sandbox
	// sandboxURL is where the sandbox answers HTTP.
	sandboxURL string
	company    string
}

type options struct {
	lease     time.Duration
	transport func(http.RoundTripper) http.RoundTripper
	taxConfig []byte
}

func start(t *testing.T, opt options) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	emb, err := bus.StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	topo := bus.DefaultTopology
	topo.AckWait = 5 * time.Second
	res, err := bus.Provision(ctx, js, topo)
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	var tr http.RoundTripper = http.DefaultTransport
	if opt.transport != nil {
		tr = opt.transport(tr)
	}
	client := avatax.New(srv.URL, avatax.Credentials{AccountID: sandbox.DefaultAccountID, LicenseKey: sandbox.DefaultLicenseKey},
		avatax.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}))
	raw := opt.taxConfig
	if raw == nil {
		raw = taxconfig.Example
	}
	cfg, err := taxconfig.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(res.Orders)
	w := worker.New(js, st, v, taxdoc.NewMapper(cfg), client, worker.Options{
		Concurrency: 8, IntentLease: opt.lease, MaxDeliver: topo.MaxDeliver,
		Unfinished: store.NewUnfinished(res.Unfinished),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, res.Consumer) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		nc.Close()
		emb.Shutdown()
		srv.Close()
	})
	return &harness{t: t, ctx: ctx, nc: nc, js: js, res: res, store: st, sandbox: sb, sandboxURL: srv.URL, company: cfg.Provider.CompanyCode}
}

func (h *harness) publish(env events.Envelope) {
	h.t.Helper()
	if _, err := bus.Publish(h.ctx, h.js, bus.EventSubject(env.Type, env.Subject), env, nil); err != nil {
		h.t.Fatal(err)
	}
}

// publishRaw sends bytes as an event, with a message id of its own.
func (h *harness) publishRaw(subject string, data []byte, msgID string) {
	h.t.Helper()
	if _, err := h.js.Publish(h.ctx, subject, data, jetstream.WithMsgID(msgID)); err != nil {
		h.t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	testwait.Eventually(h.t, what, cond)
}

func (h *harness) record(orderID string) *store.Record {
	h.t.Helper()
	rec, _, err := h.store.Get(h.ctx, orderID)
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

// waitApplied waits until every event id is applied to the order's record.
func (h *harness) waitApplied(orderID string, ids ...string) *store.Record {
	h.t.Helper()
	var rec *store.Record
	h.eventually("events applied to "+orderID, func() bool {
		rec = h.record(orderID)
		for _, id := range ids {
			if !rec.HasSeen(id) {
				return false
			}
		}
		return rec.Intent == nil
	})
	return rec
}

// waitIdle waits until the worker's consumer has nothing pending.
func (h *harness) waitIdle() {
	h.t.Helper()
	h.eventually("consumer idle", func() bool {
		info, err := h.res.Consumer.Info(h.ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// messages returns the messages of a stream on a subject, oldest first.
func (h *harness) messages(stream, subject string) []jetstream.Msg {
	h.t.Helper()
	cons, err := h.js.OrderedConsumer(h.ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := cons.Info(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []jetstream.Msg
	if info.NumPending == 0 {
		return nil
	}
	batch, err := cons.Fetch(int(info.NumPending), jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		h.t.Fatal(err)
	}
	for m := range batch.Messages() {
		out = append(out, m)
	}
	return out
}

func (h *harness) results(orderID string) []events.ResultData {
	return dataOf[events.ResultData](h, bus.ResultSubject(orderID))
}

func (h *harness) taxErrors(orderID string) []events.ErrorData {
	return dataOf[events.ErrorData](h, bus.ErrorSubject(orderID))
}

// dataOf decodes the data of the events on a subject of the results stream.
func dataOf[T any](h *harness, subject string) []T {
	h.t.Helper()
	var out []T
	for _, m := range h.messages(bus.ResultsStream, subject) {
		var env events.Envelope
		var d T
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			h.t.Fatal(err)
		}
		if err := json.Unmarshal(env.Data, &d); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// avataxCalls counts the calls that change documents.
func (h *harness) avataxCalls() int {
	c := h.sandbox.Calls()
	return c["create"] + c["createoradjust"] + c["commit"] + c["void"] + c["refund"] + c["adjust"]
}

// Jurisdiction rates of the sandbox's table for the flows' addresses.
var (
	seattle = []string{"0.065", "0.002", "0.0215", "0.014"}
	newYork = []string{"0.04", "0", "0.045", "0.00375"}
)

// taxOf is AvaTax's line-level tax: each jurisdiction's share rounded half
// away from zero, then summed.
func taxOf(amount string, rates []string) decimal.Decimal {
	a := decimal.RequireFromString(amount)
	sum := decimal.Zero
	for _, r := range rates {
		sum = sum.Add(money.Round2(a.Mul(decimal.RequireFromString(r))))
	}
	return sum
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

func decode(b []byte, v any) error { return json.Unmarshal(b, v) }
