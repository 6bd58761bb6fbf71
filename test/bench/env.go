package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// env is the one nats-server of a run (embedded, file storage in a temp
// dir, as taxbridge runs by default) with two connections: the worker's and
// the load generator's, as they would be two processes.
type env struct {
	dir  string
	emb  *bus.Embedded
	nc   *nats.Conn // taxbridge's (and the ceiling consumer's)
	js   jetstream.JetStream
	gen  *nats.Conn // the load generator's
	gjs  jetstream.JetStream
	topo bus.Topology
	res  *bus.Resources

	results *resultSink
}

func newEnv(ctx context.Context, maxAckPending int) (*env, error) {
	dir, err := os.MkdirTemp("", "taxbridge-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	if e.emb, err = bus.StartEmbedded(dir, ""); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if e.nc, err = e.emb.Connect(nats.Name("taxbridge")); err != nil {
		e.close()
		return nil, err
	}
	if e.gen, err = e.emb.Connect(nats.Name("bench-load")); err != nil {
		e.close()
		return nil, err
	}
	if e.js, err = jetstream.New(e.nc); err != nil {
		e.close()
		return nil, err
	}
	if e.gjs, err = jetstream.New(e.gen, jetstream.WithPublishAsyncMaxPending(4096)); err != nil {
		e.close()
		return nil, err
	}
	e.topo = bus.DefaultTopology
	if err := e.provision(ctx, maxAckPending); err != nil {
		e.close()
		return nil, err
	}
	if e.results, err = newResultSink(e.gen); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// provision creates (or updates) taxbridge's streams, consumer and bucket
// with the given MaxAckPending.
func (e *env) provision(ctx context.Context, maxAckPending int) error {
	if maxAckPending != 0 {
		e.topo.MaxAckPending = maxAckPending
	}
	res, err := bus.Provision(ctx, e.js, e.topo)
	if err != nil {
		return err
	}
	e.res = res
	return nil
}

func (e *env) close() {
	if e.results != nil {
		e.results.close()
	}
	for _, c := range []*nats.Conn{e.gen, e.nc} {
		if c != nil {
			c.Close()
		}
	}
	if e.emb != nil {
		e.emb.Shutdown()
	}
	os.RemoveAll(e.dir)
}

// backend is the AvaTax sandbox served over real HTTP on loopback (in this
// process, or in a child process), with an optional fixed latency per
// request, and the client taxbridge uses.
type backend struct {
	sb     *avataxsim.Sandbox // in process
	srv    *httptest.Server
	child  *sandboxChild // in a child process
	url    string        // where the sandbox listens
	client *avatax.Client
}

// clientConfig is how the AvaTax client is built.
type clientConfig struct {
	concurrency int                 // the worker's
	maxConc     int                 // client cap; 0: the worker's concurrency, as the app sets it
	audit       jetstream.JetStream // where the audit transport appends; nil: no audit trail
	ackWait     time.Duration
	// wrap, when set, wraps the pooled transport (below the audit).
	wrap func(http.RoundTripper) http.RoundTripper
	// opts are added to the client's options: the tax service's client
	// asks for jurisdiction details (avatax.WithDetails), as the app's does.
	opts []avatax.Option
}

func newBackend(latency time.Duration, inProcess bool, cc clientConfig) (*backend, error) {
	b := &backend{}
	var url string
	if inProcess {
		b.sb = avataxsim.New()
		var h http.Handler = b.sb
		if latency > 0 {
			h = withLatency(latency, b.sb)
		}
		b.srv = httptest.NewServer(h)
		url = b.srv.URL
	} else {
		c, err := startSandboxChild(latency)
		if err != nil {
			return nil, err
		}
		b.child, url = c, c.url
	}
	b.url = url
	// As internal/app builds it: a pooled transport, the audit trail of
	// every exchange below the client, a cap of the worker's concurrency,
	// a retry budget within the event's lease.
	creds := avatax.Credentials{AccountID: avataxsim.DefaultAccountID, LicenseKey: avataxsim.DefaultLicenseKey}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = max(cc.concurrency, 16)
	var tr http.RoundTripper = base
	if cc.wrap != nil {
		tr = cc.wrap(tr)
	}
	if cc.audit != nil {
		tr = audit.NewTransport(tr, audit.WithPublisher(cc.audit), audit.WithCredentials(creds.AccountID, creds.LicenseKey))
	}
	maxConc := cc.maxConc
	if maxConc <= 0 {
		maxConc = cc.concurrency
	}
	b.client = avatax.New(url, creds, append([]avatax.Option{
		avatax.WithTimeout(10 * time.Second), avatax.WithClientHeader("taxbridge-bench", "dev"),
		avatax.WithHTTPClient(&http.Client{Transport: tr}),
		avatax.WithRetry(avatax.RetryPolicy{MaxElapsed: cc.ackWait * 2 / 3}),
		avatax.WithMaxConcurrency(maxConc)}, cc.opts...)...)
	return b, nil
}

// withLatency delays every request by d before the sandbox answers it, as a
// remote AvaTax would.
func withLatency(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (b *backend) close() {
	if b.srv != nil {
		b.srv.CloseClientConnections()
		b.srv.Close()
	}
	if b.child != nil {
		b.child.close()
	}
}

// calls is the total number of AvaTax requests the sandbox received, and
// the count per operation.
func (b *backend) calls() (int, map[string]int, error) {
	var m map[string]int
	if b.sb != nil {
		m = b.sb.Calls()
	} else {
		var err error
		if m, err = b.child.calls(); err != nil {
			return 0, nil, fmt.Errorf("sandbox calls: %w", err)
		}
	}
	n := 0
	for _, v := range m {
		n += v
	}
	return n, m, nil
}

// cpu is the CPU time of the sandbox's process so far; 0 in process.
func (b *backend) cpu() time.Duration {
	if b.child == nil {
		return 0
	}
	return b.child.cpu()
}

// running is a started taxbridge worker.
type running struct {
	asm   *assembly
	logs  *logCounter
	store *store.Store
}

// startWorker starts taxbridge's worker exactly as the app wires it, with
// the given concurrency, against the backend. It is assembled by
// workertest.StartWorker, as the tests assemble theirs.
func (e *env) startWorker(b *backend, concurrency int) (r *running, err error) {
	logs := &logCounter{counts: map[string]int{}}
	asm := &assembly{}
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(assemblyFailed)
			if !ok {
				panic(v)
			}
			asm.cleanUp()
			r, err = nil, f.err
		}
	}()
	w := workertest.StartWorker(asm, e.js, e.res, e.topo, b.client,
		workertest.WithConcurrency(concurrency), workertest.WithLease(e.topo.AckWait), workertest.WithLogger(slog.New(logs)))
	return &running{asm: asm, logs: logs, store: w.Store}, nil
}

// stop stops fetching, lets in-flight events finish and waits.
func (r *running) stop() error {
	done := make(chan error, 1)
	go func() { done <- r.asm.cleanUp() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		return errors.New("worker did not stop within a minute")
	}
}

// assembly is the workertest.TB of the bench, which is a command and no
// test: Fatal panics with an assemblyFailed that startWorker recovers as
// its error, and cleanUp runs the cleanups and returns what they reported
// with Errorf.
type assembly struct {
	mu       sync.Mutex
	cleanups []func()
	errs     []error
}

// assemblyFailed is what Fatal panics with.
type assemblyFailed struct{ err error }

func (a *assembly) Helper() {}

func (a *assembly) Cleanup(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cleanups = append(a.cleanups, f)
}

func (a *assembly) Fatal(args ...any) { panic(assemblyFailed{errors.New(fmt.Sprint(args...))}) }

func (a *assembly) Errorf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, fmt.Errorf(format, args...))
}

// cleanUp runs the cleanups, last registered first, once, and returns the
// errors they reported.
func (a *assembly) cleanUp() error {
	a.mu.Lock()
	fs := a.cleanups
	a.cleanups = nil
	a.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	err := errors.Join(a.errs...)
	a.errs = nil
	return err
}

// waitIdle waits until the consumer has nothing pending nor unacknowledged
// and returns when it saw that.
func waitIdle(ctx context.Context, cons jetstream.Consumer, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		info, err := cons.Info(ctx)
		now := time.Now()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return now, nil
		}
		if now.After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
			}
			return now, fmt.Errorf("consumer not idle after %s: %w", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logCounter is the worker's slog handler: it counts records by message
// (retries, tax errors, dead letters) and prints nothing.
type logCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (l *logCounter) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.counts[r.Message]++
	l.mu.Unlock()
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.counts))
	for k, v := range l.counts {
		out[k] = v
	}
	return out
}

// resultSink watches tax.results.> and tax.errors.> with a core
// subscription: it counts them, and when latency is measured it hands each
// result's arrival time to whoever waits for its cause event.
type resultSink struct {
	subs    []*nats.Subscription
	results atomic.Int64
	errors  atomic.Int64

	mu      sync.Mutex
	waiters map[string]chan time.Time
	samples []string // the first tax errors, for the report
}

func newResultSink(nc *nats.Conn) (*resultSink, error) {
	s := &resultSink{waiters: map[string]chan time.Time{}}
	for _, subj := range []string{bus.ResultsPrefix + ">", bus.ErrorsPrefix + ">"} {
		isErr := subj == bus.ErrorsPrefix+">"
		sub, err := nc.Subscribe(subj, func(m *nats.Msg) { s.handle(m, isErr) })
		if err != nil {
			return nil, err
		}
		_ = sub.SetPendingLimits(-1, -1)
		s.subs = append(s.subs, sub)
	}
	return s, nil
}

func (s *resultSink) handle(m *nats.Msg, isErr bool) {
	at := time.Now()
	if isErr {
		if s.errors.Add(1) <= 5 {
			s.mu.Lock()
			s.samples = append(s.samples, string(m.Data))
			s.mu.Unlock()
		}
	} else {
		s.results.Add(1)
	}
	s.mu.Lock()
	waiting := len(s.waiters) > 0
	s.mu.Unlock()
	if !waiting {
		return
	}
	var head struct {
		Data struct {
			CauseEventID string `json:"cause_event_id"`
		} `json:"data"`
	}
	if err := jsonUnmarshal(m.Data, &head); err != nil {
		return
	}
	s.mu.Lock()
	ch := s.waiters[head.Data.CauseEventID]
	delete(s.waiters, head.Data.CauseEventID)
	s.mu.Unlock()
	if ch != nil {
		ch <- at
	}
}

// await registers interest in the result of an event.
func (s *resultSink) await(eventID string) chan time.Time {
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	s.waiters[eventID] = ch
	s.mu.Unlock()
	return ch
}

func (s *resultSink) forget(eventID string) {
	s.mu.Lock()
	delete(s.waiters, eventID)
	s.mu.Unlock()
}

func (s *resultSink) counts() (results, errs int64) {
	return s.results.Load(), s.errors.Load()
}

// settle waits until the counts stop moving (core messages still in flight
// to the subscription when the consumer went idle).
func (s *resultSink) settle() {
	last1, last2 := s.counts()
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		r, e := s.counts()
		if r == last1 && e == last2 {
			return
		}
		last1, last2 = r, e
	}
}

// sample is the last tax error seen among the first few.
func (s *resultSink) sample() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return "(none kept)"
	}
	x := s.samples[len(s.samples)-1]
	if len(x) > 600 {
		x = x[:600] + "…"
	}
	return x
}

func (s *resultSink) close() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
}

// memSnap is the heap after a full collection.
type memSnap struct {
	HeapAlloc  uint64
	HeapInuse  uint64
	Goroutines int
}

func heapAfterGC() memSnap {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnap{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, Goroutines: runtime.NumGoroutine()}
}

// heapStable is heapAfterGC once two readings 100ms apart agree within
// 64 KiB (the embedded nats-server frees caches on its own schedule), or
// the last of ten.
func heapStable() memSnap {
	prev := heapAfterGC()
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		cur := heapAfterGC()
		if d := int64(cur.HeapAlloc) - int64(prev.HeapAlloc); d < 64<<10 && d > -64<<10 {
			return cur
		}
		prev = cur
	}
	return prev
}

// allocMeter measures allocations of the whole process over an interval.
type allocMeter struct{ mallocs, bytes uint64 }

func startAllocs() allocMeter {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return allocMeter{ms.Mallocs, ms.TotalAlloc}
}

func (a allocMeter) per(n int) (allocs, bytes float64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if n == 0 {
		return 0, 0
	}
	return float64(ms.Mallocs-a.mallocs) / float64(n), float64(ms.TotalAlloc-a.bytes) / float64(n)
}

// percentiles of durations in milliseconds.
func percentiles(d []time.Duration) (p50, p95, p99, maxv, mean float64) {
	if len(d) == 0 {
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(d))+0.5) - 1
		i = min(max(i, 0), len(d)-1)
		return ms(d[i])
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return at(0.50), at(0.95), at(0.99), ms(d[len(d)-1]), ms(sum / time.Duration(len(d)))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// heldBy estimates the live heap allocated with a function of one of the
// packages on the stack (e.g. everything the worker's goroutines allocated
// and still reference), from the runtime's sampled memory profile as of
// the last GC, scaled up for sampling as pprof does. It needs
// runtime.MemProfileRate set early and low enough (see main).
func heldBy(pkgs ...string) int64 {
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	var total float64
	for i := range recs {
		r := &recs[i]
		bytes, objs := r.InUseBytes(), r.InUseObjects()
		if bytes <= 0 || objs <= 0 || !stackIn(r.Stack(), pkgs) {
			continue
		}
		avg := float64(bytes) / float64(objs)
		scale := 1.0
		if rate > 1 {
			scale = 1 / (1 - math.Exp(-avg/rate))
		}
		total += float64(bytes) * scale
	}
	return int64(total)
}

func stackIn(pcs []uintptr, pkgs []string) bool {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		for _, p := range pkgs {
			if strings.HasPrefix(f.Function, p) {
				return true
			}
		}
		if !more {
			return false
		}
	}
}
