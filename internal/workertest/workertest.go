// Package workertest assembles a taxbridge worker for tests from real
// parts: an embedded nats-server with JetStream (in process), the AvaTax
// sandbox over real HTTP, the AvaTax client with its audit transport, and
// the worker, driven only through NATS subjects and judged from outside
// (the sandbox's documents, the TAX and dead-letter streams, the records).
// Only tests import it, and test/bench, which assembles its worker with
// StartWorker.
package workertest

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

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/circuit"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
	"github.com/taxbridge/taxbridge/internal/testwait"
	"github.com/taxbridge/taxbridge/internal/worker"
)

// settings are what the Options of Start and StartWorker set. The zero
// value is a running worker on the example tax configuration.
type settings struct {
	lease       time.Duration
	maxDeliver  int
	transport   func(http.RoundTripper) http.RoundTripper
	retry       avatax.RetryPolicy
	taxConfig   []byte
	now         func() time.Time
	stopped     bool
	licenseKey  string
	breaker     *circuit.Breaker
	logger      *slog.Logger
	concurrency int
}

// Option shapes the harness. Without options, Start runs a worker on the
// example tax configuration.
type Option func(*settings)

// WithLease sets the worker's intent lease (default: the consumer's
// AckWait, 5s in Start).
func WithLease(d time.Duration) Option { return func(s *settings) { s.lease = d } }

// WithMaxDeliver sets the consumer's delivery limit (default 20; n <= 0
// keeps the default). StartWorker ignores it: its topology has one.
func WithMaxDeliver(n int) Option { return func(s *settings) { s.maxDeliver = n } }

// WithTransport wraps the HTTP transport to the sandbox with wrap, e.g. to
// inject a fault into one request. StartWorker ignores it.
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(s *settings) { s.transport = wrap }
}

// WithRetry sets the AvaTax client's retry policy (zero: its default).
// StartWorker ignores it.
func WithRetry(p avatax.RetryPolicy) Option { return func(s *settings) { s.retry = p } }

// WithTaxConfig sets the tax configuration (default: taxconfig.Example).
func WithTaxConfig(raw []byte) Option { return func(s *settings) { s.taxConfig = raw } }

// WithClock sets the worker's clock (default: time.Now).
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// Stopped assembles the worker without running it: the test drives
// Process, HandleMsg or Sweep itself.
func Stopped() Option { return func(s *settings) { s.stopped = true } }

// WithLicenseKey sets the key the client sends (default: the one the
// sandbox accepts). StartWorker ignores it.
func WithLicenseKey(key string) Option { return func(s *settings) { s.licenseKey = key } }

// WithBreaker sets the worker's AvaTax circuit (default: the worker's).
func WithBreaker(b *circuit.Breaker) Option { return func(s *settings) { s.breaker = b } }

// WithLogger sets the logger that receives the worker's records (default:
// discarded).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// WithConcurrency sets the number of events the worker processes at once
// (default 8).
func WithConcurrency(n int) Option { return func(s *settings) { s.concurrency = n } }

func resolve(options []Option) settings {
	var s settings
	for _, o := range options {
		o(&s)
	}
	return s
}

// Harness is one taxbridge with its own NATS server and AvaTax sandbox.
type Harness struct {
	T          testing.TB
	Ctx        context.Context
	NC         *nats.Conn
	JS         jetstream.JetStream
	Res        *bus.Resources
	Store      *store.Store
	Unfinished *store.Unfinished
	Sandbox    *avataxsim.Sandbox
	SandboxURL string // where the sandbox answers HTTP
	AvaTax     *avatax.Client
	Company    string
	Validator  *events.Validator
	Worker     *worker.Worker
}

// TB is what assembling a worker needs of its caller: a testing.TB has
// it, and so can a command that is no test (test/bench assembles its worker
// through StartWorker with a TB of its own).
type TB interface {
	Helper()
	// Cleanup registers what stops the worker; it must run once the
	// worker is no longer needed.
	Cleanup(func())
	// Fatal reports a part that could not be assembled and does not return.
	Fatal(args ...any)
	// Errorf reports that the worker stopped with an error.
	Errorf(format string, args ...any)
}

// Worker is a taxbridge worker assembled by StartWorker, with the parts
// tests look at.
type Worker struct {
	Worker     *worker.Worker
	Store      *store.Store
	Unfinished *store.Unfinished
	Validator  *events.Validator
	Company    string // the tax configuration's company code
}

// StartWorker assembles taxbridge's worker as the app wires it, on
// provisioned resources (res, with the topology topo) publishing on js and
// calling AvaTax through tax, and unless Stopped runs it on res.Consumer.
// It uses the options' tax configuration, clock, lease, breaker, logger
// and concurrency; the other options are Start's. The worker stops, and
// Run's error is reported with t.Errorf, when t's cleanup runs.
func StartWorker(t TB, js jetstream.JetStream, res *bus.Resources, topo bus.Topology, tax worker.AvaTax, options ...Option) *Worker {
	t.Helper()
	return startWorker(t, js, res, topo, tax, resolve(options))
}

func startWorker(t TB, js jetstream.JetStream, res *bus.Resources, topo bus.Topology, tax worker.AvaTax, opt settings) *Worker {
	t.Helper()
	money.EncodeAmountsAsNumbers() // as every taxbridge process does
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
	logger := opt.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lease := opt.lease
	if lease == 0 {
		lease = topo.AckWait
	}
	concurrency := opt.concurrency
	if concurrency == 0 {
		concurrency = 8
	}
	st, unfinished := store.New(res.Orders), store.NewUnfinished(res.Unfinished)
	w := worker.New(st, bus.Publisher{JS: js}, v, taxdoc.NewMapper(cfg), tax,
		worker.WithConcurrency(concurrency), worker.WithIntentLease(lease), worker.WithMaxDeliver(topo.MaxDeliver),
		worker.WithUnfinished(unfinished), worker.WithClock(opt.now), worker.WithBreaker(opt.breaker), worker.WithLogger(logger))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if opt.stopped {
		done <- nil
	} else {
		go func() { done <- w.Run(ctx, res.Consumer) }()
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return &Worker{Worker: w, Store: st, Unfinished: unfinished, Validator: v, Company: cfg.Provider.CompanyCode}
}

// Start assembles and (unless Stopped) runs a worker, shaped by options;
// everything stops when the test ends.
func Start(t testing.TB, options ...Option) *Harness {
	t.Helper()
	opt := resolve(options)
	money.EncodeAmountsAsNumbers() // as every taxbridge process does
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
	if opt.maxDeliver > 0 {
		topo.MaxDeliver = opt.maxDeliver
	}
	res, err := bus.Provision(ctx, js, topo)
	if err != nil {
		t.Fatal(err)
	}
	sb := avataxsim.New()
	srv := httptest.NewServer(sb)
	creds := avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey}
	if opt.licenseKey != "" {
		creds.LicenseKey = opt.licenseKey
	}
	var tr http.RoundTripper = http.DefaultTransport
	if opt.transport != nil {
		tr = opt.transport(tr)
	}
	tr = audit.NewTransport(tr, audit.WithPublisher(js), audit.WithCredentials(creds.AccountID, creds.LicenseKey))
	client := avatax.New(srv.URL, creds, avatax.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}),
		avatax.WithRetry(opt.retry))
	// Cleanups run last registered first: the worker stops before the
	// connection, the server and the sandbox.
	t.Cleanup(func() {
		cancel()
		nc.Close()
		emb.Shutdown()
		srv.Close()
	})
	w := startWorker(t, js, res, topo, client, opt)
	return &Harness{T: t, Ctx: ctx, NC: nc, JS: js, Res: res, Store: w.Store, Unfinished: w.Unfinished, Sandbox: sb,
		SandboxURL: srv.URL, AvaTax: client, Company: w.Company, Validator: w.Validator, Worker: w.Worker}
}

// Publish sends an event to its subject, with its id as message id.
func (h *Harness) Publish(env events.Envelope) {
	h.T.Helper()
	if _, err := bus.Publish(h.Ctx, h.JS, bus.EventSubject(env.Type, env.Subject), env, nil); err != nil {
		h.T.Fatal(err)
	}
}

// PublishRaw sends bytes as an event, with a message id of its own.
func (h *Harness) PublishRaw(subject string, data []byte, msgID string) {
	h.T.Helper()
	if _, err := h.JS.Publish(h.Ctx, subject, data, jetstream.WithMsgID(msgID)); err != nil {
		h.T.Fatal(err)
	}
}

// Eventually polls cond until it holds or the deadline passes.
func (h *Harness) Eventually(what string, cond func() bool) {
	h.T.Helper()
	testwait.Eventually(h.T, what, cond)
}

// Record is the order's record as stored now.
func (h *Harness) Record(orderID string) *store.Record {
	h.T.Helper()
	rec, _, err := h.Store.Get(h.Ctx, orderID)
	if err != nil {
		h.T.Fatal(err)
	}
	return rec
}

// WaitApplied waits until every event id is applied to the order's record
// and no intent is left in it.
func (h *Harness) WaitApplied(orderID string, ids ...string) *store.Record {
	h.T.Helper()
	var rec *store.Record
	h.Eventually("events applied to "+orderID, func() bool {
		rec = h.Record(orderID)
		for _, id := range ids {
			if !rec.HasSeen(id) {
				return false
			}
		}
		return rec.Intent == nil
	})
	return rec
}

// WaitIdle waits until the worker's consumer has nothing pending.
func (h *Harness) WaitIdle() {
	h.T.Helper()
	h.Eventually("consumer idle", func() bool {
		info, err := h.Res.Consumer.Info(h.Ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// Messages returns the messages of a stream on a subject, oldest first.
func (h *Harness) Messages(stream, subject string) []jetstream.Msg {
	h.T.Helper()
	cons, err := h.JS.OrderedConsumer(h.Ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		h.T.Fatal(err)
	}
	info, err := cons.Info(h.Ctx)
	if err != nil {
		h.T.Fatal(err)
	}
	if info.NumPending == 0 {
		return nil
	}
	batch, err := cons.Fetch(int(info.NumPending), jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		h.T.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	return out
}

// Results are the data of the order's tax_result events, oldest first.
func (h *Harness) Results(orderID string) []events.ResultData {
	return DataOf[events.ResultData](h, bus.ResultSubject(orderID))
}

// TaxErrors are the data of the order's tax_error events, oldest first.
func (h *Harness) TaxErrors(orderID string) []events.ErrorData {
	return DataOf[events.ErrorData](h, bus.ErrorSubject(orderID))
}

// DataOf decodes the data of the events on a subject of the results stream.
func DataOf[T any](h *Harness, subject string) []T {
	h.T.Helper()
	var out []T
	for _, m := range h.Messages(bus.ResultsStream, subject) {
		var env events.Envelope
		var d T
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			h.T.Fatal(err)
		}
		if err := json.Unmarshal(env.Data, &d); err != nil {
			h.T.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// AvaTaxCalls counts the calls that change documents.
func (h *Harness) AvaTaxCalls() int {
	c := h.Sandbox.Calls()
	return c["create"] + c["createoradjust"] + c["commit"] + c["void"] + c["refund"] + c["adjust"]
}

// Documents counts the sandbox's documents of a type.
func (h *Harness) Documents(docType string) int {
	n := 0
	for _, d := range h.Sandbox.Documents(h.Company) {
		if d.Type == docType {
			n++
		}
	}
	return n
}
